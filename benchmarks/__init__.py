"""Benchmarks of the project, run with `make bench`; results go to docs/benchmarks.md."""
