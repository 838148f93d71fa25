"""Patient identification without BankID: the patient's own password plus a code by SMS.

Two factors: something the patient knows (their password) and the phone registered in their
record (a 6-digit code). The same flow, without the password, lets a new or forgetful patient
set a password. Every answer reads the same whether or not the identity number belongs to an
eligible patient, and every limit is kept on the server, per person, per IP and per clinic.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from clinics import audit
from clinics.models import Clinic, Patient
from sms.services import sms_queue
from sms.texts import sms_text

from .models import LoginChallenge, PatientCredential, ThrottleEvent
from .selectors import eligible_patient

logger = logging.getLogger(__name__)

CODE_LENGTH = 6
SET_PASSWORD_WINDOW = datetime.timedelta(minutes=10)

# A hash to check against when there is no password, so a wrong number costs the same time.
_DUMMY_HASH = make_password(secrets.token_urlsafe(16))


class IdentificationError(Exception):
    """Base of the refusals a view turns into a message."""


class BadCredentials(IdentificationError):
    """Wrong password or unknown number: the two read the same."""


@dataclass
class RateLimited(IdentificationError):
    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


class CodeRejected(IdentificationError):
    def __init__(self, reason: str, tries_left: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason  # "wrong", "expired", "void", "used"
        self.tries_left = tries_left


# Keys and limits


def _keyed_hash(*parts: object) -> str:
    message = ":".join(str(p) for p in parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def person_key(national_id: str) -> str:
    return _keyed_hash("person", national_id)


def _count(scope: str, key: str, since: datetime.datetime) -> tuple[int, datetime.datetime | None]:
    events = ThrottleEvent.objects.filter(scope=scope, key=key, created__gte=since)
    oldest = events.order_by("created").values_list("created", flat=True).first()
    return events.count(), oldest


def _lock(scope: str, key: str) -> None:
    """Serialise check-and-record for one (scope, key) until the transaction ends.

    PostgreSQL: a transaction-level advisory lock on a 64-bit hash of the pair, so that
    simultaneous requests for one person (or IP, or clinic) count one after the other while
    different people never wait for each other. SQLite has one writer at a time anyway, and
    the project opens its transactions with BEGIN IMMEDIATE (eportal/settings.py).
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"{scope}:{key}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, signed=True)])


def _take(
    scope: str,
    key: str,
    limit: int,
    *,
    window: datetime.timedelta | None = None,
    since: datetime.datetime | None = None,
    reopens: datetime.datetime | None = None,
) -> int:
    """Record one event unless ``limit`` events lie in the window already: check and record
    in one step, so that simultaneous requests cannot all pass the check. Raise
    :class:`RateLimited` when the limit is reached; return the new event's id.

    The window is the last ``window`` (rolling) or everything ``since`` a moment (a day's
    cap, which ``reopens`` at the next midnight).
    """
    now = timezone.now()
    start = since if since is not None else now - (window or datetime.timedelta(0))
    with transaction.atomic():
        _lock(scope, key)
        count, oldest = _count(scope, key, start)
        if count >= limit:
            opens = reopens or ((oldest or now) + (window or datetime.timedelta(0)))
            raise RateLimited(retry_after=max(1, int((opens - now).total_seconds()) + 1))
        return ThrottleEvent.objects.create(scope=scope, key=key, created=now).pk


def _take_ip(ip: str | None) -> None:
    if not ip:
        return
    window = datetime.timedelta(minutes=15)
    _take("ip", _keyed_hash("ip", ip), settings.EPORTAL_ATTEMPTS_PER_IP, window=window)


def _clinic_day() -> tuple[datetime.datetime, datetime.datetime]:
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight, midnight + datetime.timedelta(days=1)


def _check_clinic_daily_cap(clinic: Clinic) -> None:
    """Refuse when the clinic's SMS for today are used up: for every number alike, so that
    the answer says nothing about the person (the cap is the clinic's, not theirs)."""
    midnight, tomorrow = _clinic_day()
    count, _oldest = _count("sms_clinic", str(clinic.pk), midnight)
    if count >= settings.EPORTAL_SMS_PER_CLINIC_PER_DAY:
        now = timezone.now()
        raise RateLimited(retry_after=int((tomorrow - now).total_seconds()) + 1)


def _take_clinic_sms(clinic_id: int) -> None:
    midnight, tomorrow = _clinic_day()
    _take(
        "sms_clinic",
        str(clinic_id),
        settings.EPORTAL_SMS_PER_CLINIC_PER_DAY,
        since=midnight,
        reopens=tomorrow,
    )


def purge_old_events(*, older_than: datetime.timedelta = datetime.timedelta(days=2)) -> int:
    """Housekeeping for the daily cycle: throttle events and finished challenges."""
    cutoff = timezone.now() - older_than
    deleted, _ = ThrottleEvent.objects.filter(created__lt=cutoff).delete()
    LoginChallenge.objects.filter(created__lt=cutoff).delete()
    return deleted


# The flows


def login_start(
    *, clinic: Clinic, national_id: str, password: str, ip: str | None
) -> LoginChallenge:
    """Check the password; on success send a code. Raise BadCredentials or RateLimited.

    A failed attempt is reserved *before* the password is checked and given back when the
    password was right, so that simultaneous wrong passwords are checked at most
    ``EPORTAL_PASSWORD_FAILURES_PER_PERSON`` times an hour, never more.
    """
    _take_ip(ip)
    key = person_key(national_id)
    failure = _take(
        "pw_fail",
        key,
        settings.EPORTAL_PASSWORD_FAILURES_PER_PERSON,
        window=datetime.timedelta(hours=1),
    )
    patient = eligible_patient(clinic, national_id)
    credential = PatientCredential.objects.filter(patient=patient).first() if patient else None
    ok = check_password(password, credential.password if credential else _DUMMY_HASH)
    if not (ok and credential):
        audit.record(
            "patient.login_failed",
            clinic=clinic,
            patient=patient,
            details={"method": "sms", "reason": "bad_credentials"},
            ip=ip,
        )
        raise BadCredentials
    ThrottleEvent.objects.filter(pk=failure).delete()
    with transaction.atomic():
        challenge = _new_challenge(clinic, patient, LoginChallenge.Purpose.LOGIN)
        _issue_code(challenge=challenge, person=key, ip=ip)
    return challenge


def password_start(*, clinic: Clinic, national_id: str, ip: str | None) -> LoginChallenge:
    """First use or a forgotten password: a code goes to the mobile in the record, if any.

    The request does the same work for every number, eligible or not (one lookup, the same
    rows written, one task enqueued), so its timing says nothing about the person; whether
    an SMS goes out is decided by the worker (:func:`deliver_code`).
    """
    _take_ip(ip)
    patient = eligible_patient(clinic, national_id)
    with transaction.atomic():
        challenge = _new_challenge(clinic, patient, LoginChallenge.Purpose.SET_PASSWORD)
        _issue_code(challenge=challenge, person=person_key(national_id), ip=ip)
    return challenge


def resend_code(*, challenge: LoginChallenge, person: str, ip: str | None) -> None:
    """'Send a new code': counted against the same per-IP, per-person and per-clinic limits
    as the first code."""
    _take_ip(ip)
    with transaction.atomic():
        _issue_code(challenge=challenge, person=person, ip=ip)


def _new_challenge(clinic: Clinic, patient: Patient | None, purpose: str) -> LoginChallenge:
    return LoginChallenge.objects.create(
        token=secrets.token_urlsafe(32),
        clinic=clinic,
        patient=patient,
        purpose=purpose,
        language=translation.get_language() or "",
    )


def _issue_code(*, challenge: LoginChallenge, person: str, ip: str | None) -> None:
    """Void the attempt's previous code and have the worker send a fresh one. Raise
    RateLimited. Call inside a transaction: the task is enqueued when it commits.

    ``person`` is :func:`person_key` of the identity number the attempt was started with.
    Nothing here depends on whether the number belongs to an eligible patient, except the
    values written: the same statements run, and a task is enqueued either way.
    """
    _take("code", person, settings.EPORTAL_CODES_PER_PERSON, window=datetime.timedelta(minutes=15))
    _check_clinic_daily_cap(challenge.clinic)
    now = timezone.now()
    patient = challenge.patient
    challenge.code_serial += 1
    challenge.code_sent_at = now
    challenge.code_expires_at = now + datetime.timedelta(seconds=settings.EPORTAL_CODE_TTL)
    challenge.wrong_tries = 0
    challenge.verified_at = None
    # No code matches until the worker sets one (the old code is void from now on).
    challenge.code_hash = _keyed_hash("nocode", secrets.token_hex(16))
    # The page names no digits of the mobile (``sent_to_last_digits`` stays empty): made-up
    # digits would have a patient without a mobile wait for a code, and real ones would tell
    # anyone with the identity number part of the person's mobile number.
    challenge.save(
        update_fields=[
            "code_serial",
            "code_sent_at",
            "code_expires_at",
            "wrong_tries",
            "verified_at",
            "code_hash",
        ]
    )
    audit.record(
        "patient.code_requested",
        clinic=challenge.clinic,
        patient=patient,
        details={"purpose": challenge.purpose},
        ip=ip,
        fetch_pk=False,
    )
    transaction.on_commit(
        functools.partial(_enqueue_delivery, challenge.pk, challenge.code_serial), robust=True
    )


def _enqueue_delivery(challenge_id: int, serial: int) -> None:
    from .tasks import deliver_login_code  # tasks imports this module

    deliver_login_code.delay(challenge_id, serial)


def deliver_code(*, challenge_id: int, serial: int) -> bool:
    """The worker's half of :func:`_issue_code`: make the code and queue its SMS, once.

    Does nothing for an attempt by a number that belongs to nobody eligible, for a code
    that a newer request has replaced (``serial``), for a finished or expired attempt, and
    when the clinic's SMS for the day are used up. Safe to run twice: the row is locked and
    the serial moves on. Returns whether an SMS was queued.
    """
    with transaction.atomic():
        challenge = (
            LoginChallenge.objects.select_for_update(of=("self",))
            .select_related("patient", "clinic")
            .filter(pk=challenge_id, code_serial=serial, finished_at__isnull=True)
            .first()
        )
        patient = challenge.patient if challenge is not None else None
        if challenge is None or patient is None or challenge.code_delivered_serial == serial:
            return False
        if challenge.code_expires_at is None or timezone.now() >= challenge.code_expires_at:
            return False
        try:
            _take_clinic_sms(challenge.clinic_id)
        except RateLimited:
            logger.warning(
                "Login code not sent: clinic %s's SMS cap is used up", challenge.clinic_id
            )
            return False
        code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
        challenge.code_hash = _keyed_hash("code", challenge.token, code)
        challenge.code_delivered_serial = serial
        challenge.save(update_fields=["code_hash", "code_delivered_serial"])
        with translation.override(challenge.language or settings.LANGUAGE_CODE):
            text = sms_text("login_code", code=code, minutes=settings.EPORTAL_CODE_TTL // 60)
        sms_queue(
            clinic_id=challenge.clinic_id,
            to=patient.mobile,
            text=text,
            purpose="login_code",
            secret=code,
            idempotency_key=f"login-code:{challenge.pk}:{serial}",
        )
        audit.record(
            "patient.code_sent",
            clinic=challenge.clinic,
            patient=patient,
            details={"purpose": challenge.purpose},
        )
    return True


def verify_code(*, challenge: LoginChallenge, code: str) -> None:
    """Accept the code once; raise CodeRejected otherwise. Three wrong tries void it."""
    with transaction.atomic():
        locked = LoginChallenge.objects.select_for_update().get(pk=challenge.pk)
        now = timezone.now()
        if locked.verified_at is not None or locked.finished_at is not None:
            reason = "used"
        elif locked.code_expires_at is None or now >= locked.code_expires_at:
            reason = "expired"
        elif locked.wrong_tries >= settings.EPORTAL_CODE_MAX_TRIES:
            reason = "void"
        elif hmac.compare_digest(_keyed_hash("code", locked.token, code), locked.code_hash):
            locked.verified_at = now
            locked.save(update_fields=["verified_at"])
            challenge.verified_at = now
            return
        else:
            LoginChallenge.objects.filter(pk=locked.pk).update(wrong_tries=F("wrong_tries") + 1)
            locked.refresh_from_db(fields=["wrong_tries"])
            reason = "wrong" if locked.wrong_tries < settings.EPORTAL_CODE_MAX_TRIES else "void"
    audit.record(
        "patient.login_failed",
        clinic=challenge.clinic,
        patient=challenge.patient,
        details={"method": "sms", "reason": f"code_{reason}"},
    )
    raise CodeRejected(reason, max(0, settings.EPORTAL_CODE_MAX_TRIES - locked.wrong_tries))


def finish_login(*, challenge: LoginChallenge) -> Patient:
    """The verified challenge of a login: mark it finished and return the patient."""
    updated = LoginChallenge.objects.filter(
        pk=challenge.pk,
        purpose=LoginChallenge.Purpose.LOGIN,
        verified_at__isnull=False,
        finished_at__isnull=True,
    ).update(finished_at=timezone.now())
    patient = challenge.patient
    if not updated or patient is None:
        raise CodeRejected("used")
    patient.refresh_from_db()
    if eligible_patient(challenge.clinic, patient.national_id) is None:
        raise CodeRejected("used")
    return patient


def can_set_password(challenge: LoginChallenge) -> bool:
    return (
        challenge.purpose == LoginChallenge.Purpose.SET_PASSWORD
        and challenge.patient_id is not None
        and challenge.verified_at is not None
        and challenge.finished_at is None
        and timezone.now() - challenge.verified_at < SET_PASSWORD_WINDOW
    )


@transaction.atomic
def set_password(*, challenge: LoginChallenge, password: str) -> Patient:
    """Save the new password (validated by Django's validators) and tell the patient by SMS."""
    validate_password(password)
    updated = LoginChallenge.objects.filter(pk=challenge.pk, finished_at__isnull=True).update(
        finished_at=timezone.now()
    )
    patient = challenge.patient
    if not updated or patient is None or not can_set_password(challenge):
        raise CodeRejected("used")
    _credential, created = PatientCredential.objects.update_or_create(
        patient=patient, defaults={"password": make_password(password)}
    )
    text = sms_text("password_set" if created else "password_changed")
    sms_queue(clinic_id=patient.clinic_id, to=patient.mobile, text=text, purpose="password_set")
    audit.record(
        "patient.password_set",
        clinic=patient.clinic,
        patient=patient,
        details={"first_time": created},
    )
    return patient
