"""The load benchmark (issue 5 §6). Run it with ``make bench``; see docs/benchmarks.md."""
