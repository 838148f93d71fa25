"""Start a helper server of the tests (the OIDC provider, the reverse proxy) as a process.

Each such server prints one JSON line once it listens (its port, its issuer); the process is
stopped when the ``with`` block ends.
"""

from __future__ import annotations

import json
import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def json_server(command: list[str], *, name: str) -> Iterator[dict[str, Any]]:
    """Run ``command``; yield the JSON object of its first line of output."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"{name} did not start (exit {process.poll()})")
        yield json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
