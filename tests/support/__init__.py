"""Helpers that start real components (servers) for the test suite."""
