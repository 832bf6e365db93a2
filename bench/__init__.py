"""Benchmark suite: ``.venv/bin/python bench/run.py`` (see bench/README.md)."""
