"""bandit, as ``make lint`` runs it, scans every line: none of its checks breaks on our code.

A check that cannot parse a call (``SafeString()`` with no argument broke the mark_safe
check) logs "internal error" and skips that line, yet bandit still exits 0, so ``make lint``
passed while the line went unscanned.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bandit_command() -> list[str]:
    """The bandit line of the Makefile's lint target, with this interpreter's bandit."""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        words = shlex.split(line.strip())
        if words and words[0] == "$(BIN)/bandit":
            return [sys.executable, "-m", "bandit", *words[1:]]
    raise AssertionError("no bandit line in the Makefile")


def test_every_bandit_check_runs_on_every_line():
    pytest.importorskip("bandit")
    result = subprocess.run(
        _bandit_command(), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert "internal error" not in output.lower(), output
