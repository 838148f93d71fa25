"""Celery tasks: thin wrappers over :mod:`booking.services`, taking ids."""

from __future__ import annotations

from celery import shared_task

from . import services


# All three are idempotent (generation converges on the templates; a reminder is claimed by
# a conditional update and has an SMS idempotency key), so a task whose worker died runs again.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def generate_slots_nightly() -> None:
    """Roll every practitioner's slots forward to the horizon (beat, nightly)."""
    services.slots_generate_all()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def generate_slots_for_practitioner(practitioner_id: int) -> None:
    """Regenerate one practitioner's slots after a template or closed day changed."""
    services.slots_generate(practitioner_id=practitioner_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_booking_reminders() -> None:
    """Queue the day-before reminders that are due (beat, every 15 minutes)."""
    services.reminders_send()
