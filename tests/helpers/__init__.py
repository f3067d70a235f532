"""Test helpers shared by the trust tests (backups, hostile input, crash safety, PostgreSQL)."""
