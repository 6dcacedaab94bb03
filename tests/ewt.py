"""Moved to bench/ewt.py (bench/ must not import tests/); kept so code written against this path imports."""
from bench.ewt import *  # noqa: F403
