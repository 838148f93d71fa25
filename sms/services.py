"""Queueing SMS and sending them: the only way other apps send an SMS.

Delivery guarantees, in short:

* :func:`sms_queue` writes the outbox row in the caller's transaction and enqueues the send
  after that transaction commits (an SMS that may wait is handed over by :func:`sms_dispatch`
  instead), so an SMS exists exactly when the action that caused it did.
* :func:`sms_send` hands a row to the provider at most once per attempt, never after it was
  sent, and never while another worker may still be sending it. A row whose sender died
  (or timed out) mid-send is sent again: at least once, so an interrupted send may reach
  the patient twice but is never lost (see its docstring).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from eportal.db.prepared import PreparedInsert

from .backends import get_backend
from .backends.base import PermanentError, TemporaryError
from .models import MAX_TEXT_LENGTH, REDACTED, OutboxMessage

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status

#: The first try and five retries; ``tasks.send_sms`` retries up to this many times in all.
MAX_ATTEMPTS = 6
#: A row left in 'queued' this long was dropped (its task was lost); see
#: :func:`sms_recover_stale`. Far longer than the provider timeout and the retry back-off.
STALE_AFTER = timedelta(minutes=15)
#: What a row interrupted while sending, and then given up, says.
INTERRUPTED = "interrupted while sending; outcome unknown"


def sending_lease() -> timedelta:
    """How long a row stays another worker's once marked 'sending' (``SMS_SENDING_LEASE``).

    Longer than any live sender can take: the send task's hard time limit ends it before
    (tests/sms/test_send.py holds the two together). After the lease the sender is gone, and
    :func:`sms_send` may take the row over.
    """
    return timedelta(seconds=settings.SMS_SENDING_LEASE)


class SendInProgress(Exception):
    """The row is 'sending' under another worker's lease: try again once it runs out."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"another worker is sending it; retry in {retry_in:.0f} s")
        self.retry_in = retry_in


#: ``OutboxMessage.objects.create()``, compiled once (the booking confirmation's insert).
_INSERT = PreparedInsert(OutboxMessage)

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ERROR_CODE = re.compile(r"\d{1,10}")

# Webhook statuses we record, and the order statuses may follow (a status never goes back).
_PROVIDER_STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
}
#: A row in one of these will never be sent again: its secret, if any, can go.
_DONE = frozenset({Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED})
#: ``text`` without its secret, in an UPDATE: the redacted text where there is one.
_TEXT_WITHOUT_SECRET = Case(When(redacted_text="", then=F("text")), default=F("redacted_text"))
_RANK = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
}


def sms_queue(
    *,
    clinic_id: int,
    to: str,
    text: str,
    purpose: str,
    secret: str = "",
    idempotency_key: str | None = None,
    wait: bool = False,
) -> OutboxMessage:
    """Put an SMS in the outbox and send it once the current transaction commits.

    Call it inside the transaction of the action that causes the SMS: when that transaction
    rolls back, neither the row nor the SMS exists. ``to`` is an E.164 number; ``text`` must
    carry no health information (a code, a time, a place, a link).

    ``secret`` is the part of ``text`` that nobody but the recipient may read (the code of a
    login code SMS, which must pass it). Staff see the text with it replaced by ``••••••``,
    and once the SMS is sent or has failed for good the stored text loses it too (see
    :class:`~sms.models.OutboxMessage`).

    With an ``idempotency_key`` (for example ``f"login-code:{attempt.pk}"``; never personal
    data), a second call with the same key returns the first row and sends nothing more. The
    key is global, so prefix it with what it is about.

    ``wait=True`` is for an SMS that may go out a few seconds later (booking confirmations
    and cancellations): instead of a broker round trip after the commit, the row waits for
    :func:`sms_dispatch`, which hands it to a worker. The dispatcher runs on Celery beat every
    ``SMS_DISPATCH_INTERVAL`` seconds and, where there is no beat (``SMS_DISPATCH_AT_COMMIT``,
    on when tasks run in-process), right after the commit. Login codes do not wait. A
    message that waits and has no key is returned without its id (the insert does not wait
    for it).
    """
    if not _E164.fullmatch(to or ""):
        raise ValueError("The recipient must be a phone number in E.164 form.")
    if purpose not in OutboxMessage.Purpose.values:
        raise ValueError(f"Unknown SMS purpose {purpose!r}.")
    if not text or len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"An SMS text must have 1 to {MAX_TEXT_LENGTH} characters.")
    # The messages never repeat the secret: a ValueError may end up in a log.
    if secret and secret not in text:
        raise ValueError("The secret must be a part of the text.")
    if purpose == OutboxMessage.Purpose.LOGIN_CODE and not secret:
        raise ValueError("A login code SMS needs its code as secret=, so that staff never see it.")
    values: dict[str, Any] = {
        "clinic_id": clinic_id,
        "recipient": to,
        "text": text,
        "redacted_text": text.replace(secret, REDACTED) if secret else "",
        "purpose": purpose,
        # Empty while the row waits for the dispatcher, which stamps it when it hands over.
        "enqueued_at": None if wait else timezone.now(),
    }
    key = idempotency_key or ""
    if key:
        existing = OutboxMessage.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                message = _INSERT(idempotency_key=key, **values)
        except IntegrityError:
            # A concurrent caller with the same key committed first.
            existing = OutboxMessage.objects.filter(idempotency_key=key).first()
            if existing is None:
                raise
            return existing
    else:
        # Nothing to deduplicate: a plain insert (no savepoint inside the caller's
        # transaction). Nobody needs a waiting row's id, so its INSERT does not wait for
        # RETURNING: inside the caller's pipeline (booking) it goes out with the COMMIT.
        message = _INSERT(fetch_pk=not wait, **values)
    _hand_over_after_commit(message, wait=wait)
    return message


def _hand_over_after_commit(message: OutboxMessage, *, wait: bool) -> None:
    # robust: a broker that is down must not turn the caller's committed action into an
    # error; the row stays 'queued' and sms_recover_stale enqueues it again.
    if not wait:
        transaction.on_commit(partial(_enqueue, message.pk), robust=True)
        logger.info("SMS %s queued (clinic %s, %s)", message.pk, message.clinic_id, message.purpose)
        return
    if settings.SMS_DISPATCH_AT_COMMIT:
        transaction.on_commit(sms_dispatch, robust=True)
    # DEBUG: the dispatcher logs what it hands over (one line per run, not per SMS).
    logger.debug("SMS waits for dispatch (clinic %s, %s)", message.clinic_id, message.purpose)


def _enqueue(message_id: int) -> None:
    from .tasks import send_sms  # tasks imports this module

    send_sms.delay(message_id)


def sms_dispatch(*, limit: int = 500) -> int:
    """Hand the SMS queued with ``wait=True`` to the workers: one send task each, once.

    Claims the rows in one short transaction (``SKIP LOCKED``: two dispatchers never claim
    the same row) and enqueues after its commit. A row whose task is lost afterwards is
    picked up by :func:`sms_recover_stale`; sending twice is impossible either way, since
    :func:`sms_send` locks and checks the row. Returns how many were handed over.
    """
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, enqueued_at__isnull=True)
            .order_by("created", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            OutboxMessage.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
            for message_id in ids:
                transaction.on_commit(partial(_enqueue, message_id), robust=True)
            logger.info("SMS dispatch: %s handed to the workers", len(ids))
    return len(ids)


def sms_send(
    *, message_id: int, final_attempt: bool = False, raise_if_busy: bool = False
) -> OutboxMessage | None:
    """Send one outbox row, if it is still waiting to be sent. Safe to call any number of times.

    1. In a short transaction, lock the row. Send it only when it is 'queued', or 'sending'
       with its sender's lease run out (:func:`sending_lease`: that worker died mid-send).
       Otherwise do nothing (it was sent, has failed, or another worker is sending it right
       now; with ``raise_if_busy`` that last case raises :class:`SendInProgress`, so that
       the task tries again after the lease). Mark it 'sending', count the attempt, commit.
    2. Outside any transaction, hand it to the backend.
    3. Record the outcome: 'sent' with the provider's id; 'failed' on a permanent error, on
       the last attempt or on an unexpected error; back to 'queued' on a temporary error, and
       re-raise :class:`TemporaryError` so that the task tries again later. Sent or failed,
       the row keeps only its redacted text; back in 'queued' it keeps the secret to send.

    The trade-off: at least once (Twilio's Messages API has no idempotency key, so nothing
    on the provider's side can recognise a second request for the same SMS):

    * A row whose sender died after marking it 'sending' (a worker killed, out of memory, a
      machine lost) is sent again once the lease has run out: the provider may or may not
      have got the first request, and we cannot ask. So each interrupted send costs at most
      one duplicate SMS, and never a lost one; the send task's late acknowledgement brings
      the task back, and :func:`sms_recover_stale` re-enqueues such rows too.
    * A timeout is retried, for the same reason: a patient waiting for a login code who
      gets it twice is better off than one who gets none. Twilio answers in well under the
      client timeout when healthy, and the attempts are capped at :data:`MAX_ATTEMPTS`.
    """
    with transaction.atomic(durable=True):
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            logger.warning("SMS %s does not exist; nothing to send", message_id)
            return None
        interrupted = False
        if message.status == Status.SENDING:
            left = (message.updated + sending_lease() - timezone.now()).total_seconds()
            interrupted = left <= 0
            if not interrupted:
                logger.info("SMS %s is being sent by another worker", message_id)
                if raise_if_busy:
                    raise SendInProgress(left)
                return message
        elif message.status != Status.QUEUED:
            logger.info("SMS %s is %s; not sending it again", message_id, message.status)
            return message
        if message.attempts >= MAX_ATTEMPTS:
            message.status = Status.FAILED
            message.last_error = INTERRUPTED if interrupted else "no attempts left"
            message.text = message.staff_text
            message.save(update_fields=["status", "last_error", "text", "updated"])
            logger.warning("SMS %s failed: %s", message_id, message.last_error)
            return message
        if interrupted:
            logger.warning(
                "SMS %s was interrupted while sending (attempt %s); sending it again",
                message_id,
                message.attempts,
            )
        message.status = Status.SENDING
        message.attempts += 1
        message.save(update_fields=["status", "attempts", "updated"])

    try:
        provider_id = get_backend().send(message)
    except PermanentError as error:
        return _finish(message, Status.FAILED, error=error.reason)
    except TemporaryError as error:
        if final_attempt or message.attempts >= MAX_ATTEMPTS:
            return _finish(message, Status.FAILED, error=error.reason)
        _finish(message, Status.QUEUED, error=error.reason)
        raise
    except Exception as error:
        # A bug or a misconfiguration; whether anything reached the provider is unknown.
        _finish(message, Status.FAILED, error=f"backend error ({type(error).__name__})")
        raise
    return _finish(message, Status.SENT, provider_id=provider_id)


def _finish(
    message: OutboxMessage, status: str, *, error: str = "", provider_id: str = ""
) -> OutboxMessage:
    now = timezone.now()
    fields: dict[str, object] = {"status": status, "updated": now}
    if provider_id:
        fields.update(provider_id=provider_id, sent_at=now)
    if error:
        fields["last_error"] = error[:200]
    if status in _DONE and message.redacted_text:
        fields["text"] = message.redacted_text
    done = OutboxMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(**fields)
    if not done:
        logger.warning(
            "SMS %s changed while being sent; outcome %s not recorded", message.pk, status
        )
        message.refresh_from_db()
        return message
    for name, value in fields.items():
        setattr(message, name, value)
    log = logger.info if status == Status.SENT else logger.warning
    log(
        "SMS %s %s after attempt %s%s",
        message.pk,
        status,
        message.attempts,
        f" ({error})" if error else "",
    )
    return message


def sms_record_status(*, provider_id: str, status: str, error_code: str | None = None) -> bool:
    """Record a delivery report from the provider. Returns whether the row changed.

    Unknown provider ids and statuses we do not track ('queued', 'accepted', ...) are ignored.
    A status never goes back (a late 'sent' after 'delivered' changes nothing), so repeated
    and reordered reports are harmless.
    """
    new_status = _PROVIDER_STATUSES.get(status)
    if new_status is None or not _PROVIDER_ID.fullmatch(provider_id or ""):
        return False
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(provider_id=provider_id).first()
        if message is None or _RANK[new_status] <= _RANK[Status(message.status)]:
            return False
        message.status = new_status
        update_fields = ["status", "updated"]
        if new_status in _DONE and message.text != message.staff_text:
            # sms_send drops it on 'sent' already; this holds whatever way the row got here.
            message.text = message.staff_text
            update_fields.append("text")
        if error_code and _ERROR_CODE.fullmatch(error_code):
            message.last_error = f"provider error {error_code}"
            update_fields.append("last_error")
        message.save(update_fields=update_fields)
    logger.info("SMS %s reported %s", message.pk, new_status)
    return True


def sms_recover_stale(*, now: datetime | None = None) -> tuple[int, int]:
    """Deal with rows stuck on the way out; run it periodically (Celery beat).

    * 'queued' for :data:`STALE_AFTER`: the task was lost (the broker was down at commit, or
      the queue was purged): enqueue it again. Sending stays safe because :func:`sms_send`
      locks and checks the row.
    * 'sending' past its lease (:func:`sending_lease`): the worker died mid-send and the
      outcome is unknown: enqueue it again, so that it is sent at least once (see
      :func:`sms_send`); with no attempts left, mark it 'failed' and drop its secret.

    Returns (re-enqueued, failed).
    """
    now = now or timezone.now()
    interrupted = OutboxMessage.objects.filter(
        status=Status.SENDING, updated__lt=now - sending_lease()
    )
    failed = interrupted.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Status.FAILED,
        last_error=INTERRUPTED,
        text=_TEXT_WITHOUT_SECRET,
        updated=timezone.now(),
    )
    stale_ids = list(interrupted.values_list("pk", flat=True))
    stale_ids += OutboxMessage.objects.filter(
        status=Status.QUEUED, updated__lt=now - STALE_AFTER
    ).values_list("pk", flat=True)
    for message_id in stale_ids:
        transaction.on_commit(partial(_enqueue, message_id), robust=True)
    if failed or stale_ids:
        logger.warning(
            "SMS outbox: %s re-enqueued, %s failed as interrupted", len(stale_ids), failed
        )
    return len(stale_ids), failed
