"""Markers for the evaluation tests (``e2e``: runs verl end to end on CPU, a few minutes)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end run of a recipe on the CPU backend (slow)")
