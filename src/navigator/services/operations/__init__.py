"""Keeping the store healthy: backups and restore, the health check, retention, subject access requests, moving to PostgreSQL."""
