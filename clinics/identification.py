"""Patient identification without BankID: the patient's own password plus a code by SMS.

Two factors: something the patient knows (their password) and the phone registered in their
record (a 6-digit code). The same flow, without the password, lets a new or forgetful patient
set a password. Every answer reads the same whether or not the identity number belongs to an
eligible patient, and every limit is kept on the server, per person, per IP and per clinic.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from sms.services import sms_queue

from . import audit
from .models import Clinic, LoginChallenge, Patient, PatientCredential, ThrottleEvent

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


def _check(scope: str, key: str, limit: int, window: datetime.timedelta) -> None:
    now = timezone.now()
    count, oldest = _count(scope, key, now - window)
    if count >= limit and oldest is not None:
        raise RateLimited(retry_after=int((oldest + window - now).total_seconds()) + 1)


def _hit(scope: str, key: str) -> None:
    ThrottleEvent.objects.create(scope=scope, key=key, created=timezone.now())


def _check_ip(ip: str | None) -> None:
    if not ip:
        return
    key = _keyed_hash("ip", ip)
    _check("ip", key, settings.EPORTAL_ATTEMPTS_PER_IP, datetime.timedelta(minutes=15))
    _hit("ip", key)


def _check_clinic_daily_cap(clinic: Clinic) -> None:
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    count, _oldest = _count("sms_clinic", str(clinic.pk), midnight)
    if count >= settings.EPORTAL_SMS_PER_CLINIC_PER_DAY:
        tomorrow = midnight + datetime.timedelta(days=1)
        raise RateLimited(retry_after=int((tomorrow - now).total_seconds()) + 1)


def purge_old_events(*, older_than: datetime.timedelta = datetime.timedelta(days=2)) -> int:
    """Housekeeping for the daily cycle: throttle events and finished challenges."""
    cutoff = timezone.now() - older_than
    deleted, _ = ThrottleEvent.objects.filter(created__lt=cutoff).delete()
    LoginChallenge.objects.filter(created__lt=cutoff).delete()
    return deleted


# Who may use this path


def eligible_patient(clinic: Clinic, national_id: str) -> Patient | None:
    """Rule 3 and 5: full identity number, active record here, a mobile, clinic allows SMS."""
    if not (clinic.active and clinic.allow_sms):
        return None
    patient = (
        Patient.objects.select_related("clinic")
        .filter(clinic=clinic, national_id=national_id, journal_active=True)
        .exclude(mobile="")
        .first()
    )
    if patient is None or not patient.can_log_in:
        return None
    return patient


def masked_mobile_hint(challenge: LoginChallenge) -> str:
    return f"••• •• {challenge.sent_to_last_digits}"


# The flows


def login_start(
    *, clinic: Clinic, national_id: str, password: str, ip: str | None
) -> LoginChallenge:
    """Check the password; on success send a code. Raise BadCredentials or RateLimited."""
    _check_ip(ip)
    key = person_key(national_id)
    _check(
        "pw_fail", key, settings.EPORTAL_PASSWORD_FAILURES_PER_PERSON, datetime.timedelta(hours=1)
    )
    patient = eligible_patient(clinic, national_id)
    credential = PatientCredential.objects.filter(patient=patient).first() if patient else None
    ok = check_password(password, credential.password if credential else _DUMMY_HASH)
    if not (ok and credential):
        _hit("pw_fail", key)
        audit.record(
            "patient.login_failed",
            clinic=clinic,
            patient=patient,
            details={"method": "sms", "reason": "bad_credentials"},
            ip=ip,
        )
        raise BadCredentials
    challenge = LoginChallenge.objects.create(
        token=secrets.token_urlsafe(32),
        clinic=clinic,
        patient=patient,
        purpose=LoginChallenge.Purpose.LOGIN,
    )
    send_code(challenge=challenge, person=person_key(national_id), ip=ip)
    return challenge


def password_start(*, clinic: Clinic, national_id: str, ip: str | None) -> LoginChallenge:
    """First use or a forgotten password: a code goes to the mobile in the record, if any."""
    _check_ip(ip)
    patient = eligible_patient(clinic, national_id)
    challenge = LoginChallenge.objects.create(
        token=secrets.token_urlsafe(32),
        clinic=clinic,
        patient=patient,
        purpose=LoginChallenge.Purpose.SET_PASSWORD,
    )
    send_code(challenge=challenge, person=person_key(national_id), ip=ip)
    return challenge


@transaction.atomic
def send_code(*, challenge: LoginChallenge, person: str, ip: str | None = None) -> None:
    """Send a fresh code for this attempt, voiding the previous one. Raise RateLimited.

    ``person`` is :func:`person_key` of the identity number the attempt was started with.
    """
    key = person
    _check("code", key, settings.EPORTAL_CODES_PER_PERSON, datetime.timedelta(minutes=15))
    patient = challenge.patient
    if patient is not None:
        _check_clinic_daily_cap(challenge.clinic)
    _hit("code", key)
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    now = timezone.now()
    challenge.code_sent_at = now
    challenge.code_expires_at = now + datetime.timedelta(seconds=settings.EPORTAL_CODE_TTL)
    challenge.wrong_tries = 0
    challenge.verified_at = None
    if patient is None:
        # Nobody to send to: no code exists, and the page shows plausible digits so that it
        # reads the same as for a registered patient.
        challenge.code_hash = _keyed_hash("nocode", secrets.token_hex(16))
        challenge.sent_to_last_digits = str(int(key[:8], 16) % 1000).zfill(3)
    else:
        challenge.code_hash = _keyed_hash("code", challenge.token, code)
        challenge.sent_to_last_digits = patient.mobile[-3:]
    challenge.save()
    if patient is None:
        return
    _hit("sms_clinic", str(challenge.clinic_id))
    minutes = settings.EPORTAL_CODE_TTL // 60
    sms_queue(
        clinic_id=challenge.clinic_id,
        to=patient.mobile,
        text=_(
            "Your ePortal code is %(code)s. It is valid for %(minutes)d minutes. Never share it."
        )
        % {"code": code, "minutes": minutes},
        purpose="login_code",
        secret=code,
    )
    audit.record(
        "patient.code_sent",
        clinic=challenge.clinic,
        patient=patient,
        details={"purpose": challenge.purpose},
        ip=ip,
    )


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
    text = (
        _("Your ePortal password was set. If this was not you, call your clinic.")
        if created
        else _("Your ePortal password was changed. If this was not you, call your clinic.")
    )
    sms_queue(clinic_id=patient.clinic_id, to=patient.mobile, text=text, purpose="password_set")
    audit.record(
        "patient.password_set",
        clinic=patient.clinic,
        patient=patient,
        details={"first_time": created},
    )
    return patient
