"""Moved to bench/browser.py (bench/ must not import tests/); kept so code written against this path imports."""
from bench.browser import *  # noqa: F403
