"""Persistence: SQLModel tables, the engine, migrations and seed data."""
