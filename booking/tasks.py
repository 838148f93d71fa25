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


# Idempotent: expiring is a conditional update, and an offer is made at most once per slot
# and per patient (the partial unique constraints) with an SMS idempotency key. The beat
# runs it every minute (docs/booking.md, "Waitlist"), so a lost run is made up a minute later.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, time_limit=120)
def sweep_slot_offers() -> None:
    """Expire held offers that ran out and offer freed slots to waiting patients."""
    services.offers_sweep()
