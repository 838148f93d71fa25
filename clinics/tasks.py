"""Celery tasks: thin wrappers over :mod:`clinics.services`."""

from __future__ import annotations

from celery import shared_task

from . import services


# Idempotent (each SMS has an idempotency key), so a task whose worker died runs again.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, time_limit=600)
def send_child_turning_12_notices() -> None:
    """SMS the parents of children who turn 12 in 30 days (beat, daily)."""
    services.child_turning_12_notices_send()
