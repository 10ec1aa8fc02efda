"""Markers for the recipe tests (``e2e``: runs a recipe end to end on the CPU backend, minutes)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end run of a recipe on the CPU backend (slow)")
