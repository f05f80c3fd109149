"""Benchmarks for `make bench`; each module writes results/bench/<name>.csv."""
