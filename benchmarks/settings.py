"""Benchmark settings: production settings plus the ``/bench/hello`` baseline view.

Production never imports this module, so it gets no extra route. Everything else (DEBUG,
SECRET_KEY, the database, Redis) comes from the environment as in production; the runner
(:mod:`benchmarks.run`) sets it.
"""

from __future__ import annotations

import os

from eportal.settings import *  # noqa: F403
from eportal.settings import CACHES

ROOT_URLCONF = "benchmarks.urls"

# collectstatic writes here (the runner's scratch directory), not into the checkout.
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", "/tmp/eportal-bench-static")  # noqa: S108

# Keep the benchmark's Redis keys apart from anything else on the same server, so the
# runner can remove exactly its own keys afterwards.
CELERY_TASK_DEFAULT_QUEUE = "eportal-bench"
CACHES["default"]["KEY_PREFIX"] = "eportal-bench"
