"""Celery tasks: thin wrappers over :mod:`identification.services`, taking ids."""

from __future__ import annotations

from celery import shared_task

from . import services


# The name it had when the task lived in clinics: codes queued by a web container of the
# previous release still reach a worker of this one (and the other way round).
@shared_task(
    name="clinics.tasks.deliver_login_code", acks_late=True, ignore_result=True, time_limit=60
)
def deliver_login_code(challenge_id: int, serial: int) -> None:
    """Make an attempt's login code and queue its SMS (idempotent: see deliver_code)."""
    services.deliver_code(challenge_id=challenge_id, serial=serial)
