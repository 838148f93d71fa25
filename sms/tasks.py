"""Celery tasks: thin wrappers over :mod:`sms.services`, taking ids."""

from __future__ import annotations

from celery import shared_task

from . import services
from .backends.base import TemporaryError


@shared_task(
    bind=True,
    autoretry_for=(TemporaryError,),
    retry_backoff=5,  # full jitter: a random wait up to 5 s, 10 s, 20 s, ...
    retry_backoff_max=120,  # a login code is valid for 5 minutes
    retry_jitter=True,
    max_retries=services.MAX_ATTEMPTS - 1,
    # Idempotent (sms_send locks the row and sends only a 'queued' one, or one whose sender
    # died): a message whose worker died is delivered again rather than lost.
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
)
def send_sms(self, message_id: int) -> None:
    """Send one outbox row; on a temporary error, try again later.

    The last try marks the row failed instead of raising. When tasks run eagerly (the
    embedded default, the tests), Celery runs each retry at once, in-process, ignoring the
    countdown: the retries are bounded by ``max_retries`` and never sleep.

    A row another worker is sending (this task came back after its worker was killed, or
    was enqueued twice) is looked at again once that worker's lease has run out: sent by
    then, or taken over and sent again (services.sms_send).
    """
    try:
        services.sms_send(
            message_id=message_id,
            final_attempt=self.request.retries >= self.max_retries,
            raise_if_busy=not self.request.is_eager,
        )
    except services.SendInProgress as busy:
        raise self.retry(countdown=busy.retry_in + 1) from None


# The sweeps are idempotent: running one twice finds nothing more to do.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recover_stale_sms() -> None:
    """Re-enqueue lost rows and fail interrupted ones (for Celery beat, every few minutes)."""
    services.sms_recover_stale()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True, time_limit=60)
def dispatch_sms() -> None:
    """Hand SMS queued to wait (booking confirmations) to the workers (beat, every few s)."""
    services.sms_dispatch()
