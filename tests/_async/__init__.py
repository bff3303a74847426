"""Async tests: the source of tests/_sync/ (tools/unasync.py)."""
