"""Alert rendering and delivery (apprise, through the persisted outbox)."""
