"""Asset tests use the project-wide fixtures of tests/conftest.py (tiny_models, synthetic)."""
