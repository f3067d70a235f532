"""The rules of the work: pure Python, no database, no UI."""
