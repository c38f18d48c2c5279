"""The daemon's HTTP face (issue 9): the desk page, the REST API, metrics and health, served by
one aiohttp application inside the daemon's own process and event loop."""
