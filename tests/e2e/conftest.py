"""Browser tests. The fixtures live in harness.py and are registered by tests/conftest.py."""

from __future__ import annotations

from tests.e2e.harness import assert_accessible, in_ci

__all__ = ["assert_accessible", "in_ci"]
