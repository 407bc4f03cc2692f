"""Benchmarks; `python -m bench` runs them all and records the figures in BENCHMARKS.md."""
