"""Builders of per-language metadata and the committed language tables."""
