"""Alembic migrations of the registry schema (run by `idnode init` and `idnode migrate`)."""
