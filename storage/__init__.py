"""Persistence: SQLAlchemy 2 async models, repository and migrations (SQLite or PostgreSQL)."""
