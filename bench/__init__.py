"""Benchmarks: what an orchestration costs on each engine, against the physical limit and a peer."""
