"""Celery tasks: thin wrappers over :mod:`clinics.identification`, taking ids."""

from __future__ import annotations

from celery import shared_task

from . import identification


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, time_limit=60)
def deliver_login_code(challenge_id: int, serial: int) -> None:
    """Make an attempt's login code and queue its SMS (idempotent: see deliver_code)."""
    identification.deliver_code(challenge_id=challenge_id, serial=serial)
