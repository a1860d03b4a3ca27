"""Benchmarks and the fleet load-test harness (``python -m loadtests fleet ...``)."""
