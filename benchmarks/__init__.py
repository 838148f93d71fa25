"""The load benchmark (docs/booking.md). Run it with ``make bench``; see docs/benchmarks.md."""
