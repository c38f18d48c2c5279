"""claimwatch daemon: schedule → fetch → extract → store → match → decide → alert."""
