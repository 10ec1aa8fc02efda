"""Hypothesis settings for the pure-math tests: no deadline (the first torch call is slow), a few
hundred examples at most so the whole folder stays fast on a 2-core CPU machine."""

from hypothesis import settings

settings.register_profile("algos", deadline=None, max_examples=150)
settings.load_profile("algos")
