"""The 05:00 cycle's last step against a real Celery worker (issue #11: "recycle worker
processes (graceful pool restart = the leaflet's restart)"): a worker of the test's own, on
a Redis of the test's own, and the step run by another process with production settings.

billiard's graceful restart replaces each pool process when it takes its next task (a busy
one finishes first; an idle one waits on its pipe and sees the request with the next job).
In production the minute heartbeat brings that within minutes; here the test sends the
heartbeats beat would. Every process is replaced, the worker itself keeps running and its
new processes do the work (heartbeat rows in the database), and a step against no worker at
all fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import live

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STEP = (
    "from ops.services import restart_worker_pools\n"
    "try:\n"
    "    print('STEP:', restart_worker_pools(timeout=5))\n"
    "except Exception as error:\n"
    "    print('FAILED:', error)\n"
)


HEARTBEATS = "from ops.tasks import heartbeat\nfor _ in range(8): heartbeat.delay()\n"


def run_step(env: dict[str, str], code: str = STEP) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=live.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_restart_step_replaces_a_live_workers_pool(live_redis, tmp_path):
    env = live.portal_env(redis_url=live_redis.url(), database=live.database_url())
    worker = live.celery_worker(env, tmp_path / "worker.log")
    with live.running(worker):
        before = set(worker.children())
        assert len(before) == 2
        out = run_step(env)
        assert "STEP: 1 worker(s) restarting their processes" in out, out

        def replaced() -> bool:
            now = set(worker.children())
            return len(now) == 2 and not (now & before)

        def beat_sends_heartbeats() -> bool:
            run_step(env, HEARTBEATS)
            return replaced()

        live.wait_for(beat_sends_heartbeats, timeout=60, what="two new pool processes", every=1)
        from ops.models import Heartbeat

        assert Heartbeat.objects.exists()  # the work went through the new processes
        worker.check_running()  # the worker itself was not restarted
        # ... and it still answers: the step runs again against the new processes.
        assert "STEP: 1 worker(s)" in run_step(env)


def test_no_worker_answering_fails_the_step(live_redis):
    env = live.portal_env(redis_url=live_redis.url(), database=live.database_url())
    assert "FAILED: no worker answered" in run_step(env)
