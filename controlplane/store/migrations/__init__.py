"""Alembic migrations of the store; ``database.upgrade`` applies them (package data)."""
