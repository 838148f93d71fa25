"""Celery tasks: thin wrappers over :mod:`ops.services`, sent by beat."""

from __future__ import annotations

from celery import shared_task

from . import services


# Not acknowledged late: the day's claim makes a second delivery do nothing, and a cycle
# whose worker died is reported (an incident) rather than silently run again.
@shared_task(ignore_result=True, soft_time_limit=1500, time_limit=1800)
def health_cycle() -> None:
    """The daily cycle (beat, 05:00 Europe/Oslo)."""
    services.health_cycle_run()


# Idempotent (one row per minute at most), but a heartbeat delivered again after its
# minute would claim a minute in which nothing got through: it is not re-delivered.
@shared_task(ignore_result=True, time_limit=30)
def heartbeat() -> None:
    """beat -> broker -> worker -> database, every minute."""
    services.heartbeat_record()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, time_limit=60)
def check_incidents() -> None:
    """Open or close incidents, e-mailing staff once each way (beat, every minute)."""
    services.incidents_check()
