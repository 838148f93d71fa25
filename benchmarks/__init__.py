"""The load benchmark. Run it with ``make bench``; see docs/benchmarks.md."""
