"""Small helpers shared across the package (``io``: the one JSONL reader and atomic file writer)."""
