"""Persistence: models, sessions, queries, blobs and migrations. Imports nothing from bot or handlers."""
