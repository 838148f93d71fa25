"""Writes of the operations side: the daily health cycle, heartbeats and incidents."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from . import health, wiring
from .models import HealthCycle, HealthStep, Heartbeat, Incident

logger = logging.getLogger(__name__)

#: No heartbeat in this many whole minutes opens an incident.
HEARTBEAT_GRACE = datetime.timedelta(minutes=5)
#: A cycle still 'running' after this long was interrupted (its worker died).
CYCLE_MAX_RUNTIME = datetime.timedelta(minutes=30)
#: Heartbeats are kept this long (the monitoring page shows a month at a time).
HEARTBEAT_RETENTION = datetime.timedelta(days=400)


class StepFailed(Exception):
    """A step that ran and found something wrong; the message is shown to staff."""


# The steps of the cycle


def _check_sms_provider() -> str:
    try:
        return wiring.get_sms_backend().check()
    except wiring.SmsError as error:
        raise StepFailed(error.reason) from error


def _extend_slot_horizon() -> str:
    return f"{wiring.slots_generate_all()} practitioners"


def _purge_login_codes() -> str:
    return f"{wiring.purge_old_events()} old login events deleted"


def _purge_sessions() -> str:
    """What ``manage.py clearsessions`` does, for the configured session engine."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    return "expired sessions deleted"


def _requeue_stale_sms() -> str:
    requeued, failed = wiring.sms_recover_stale()
    return f"{requeued} re-queued, {failed} failed as interrupted"


def _purge_heartbeats() -> str:
    cutoff = timezone.now() - HEARTBEAT_RETENTION
    deleted, _ = Heartbeat.objects.filter(minute__lt=cutoff).delete()
    return f"{deleted} old heartbeats deleted"


def restart_worker_pools(*, timeout: float = 3.0) -> str:
    """Ask every worker to replace its processes, gracefully: a busy process finishes its
    task first (billiard's pool restart), so the cycle that asks is not cut short. Each
    process is replaced when it takes its next task; the minute heartbeat brings that within
    minutes (tests/ops/test_live_worker.py runs it against a real worker)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "skipped: tasks run in-process"
    from eportal.celery import app

    replies = app.control.pool_restart(reply=True, timeout=timeout) or []
    if not replies:
        raise StepFailed("no worker answered")
    refused = [name for reply in replies for name, answer in reply.items() if "error" in answer]
    if refused:
        raise StepFailed(f"refused by {', '.join(sorted(refused))}")
    return f"{len(replies)} worker(s) restarting their processes, each after its next task"


#: (name, step) in the order they run. The checks come first and the restart last, so that
#: everything is recorded before the processes are replaced.
STEPS: list[tuple[str, Callable[[], str]]] = [
    ("database", health.check_database),
    ("broker", health.check_broker),
    ("sms_provider", _check_sms_provider),
    ("slot_horizon", _extend_slot_horizon),
    ("login_codes", _purge_login_codes),
    ("sessions", _purge_sessions),
    ("stale_sms", _requeue_stale_sms),
    ("heartbeats", _purge_heartbeats),
    ("worker_restart", restart_worker_pools),
]


def _run_step(step: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, step()[:200]
    except StepFailed as error:
        return False, str(error)[:200]
    except Exception as error:
        # The exception's text may quote data (an address, a query); staff see its type,
        # the log has the rest.
        logger.exception("Health cycle step failed")
        return False, type(error).__name__


def health_cycle_run(*, again: bool = False) -> HealthCycle | None:
    """Run the daily cycle, unless it already ran (or is running) today, local time.

    The unique ``day`` is claimed in its own committed transaction before any step runs:
    two beats started by mistake, or a task delivered twice, find it taken and do nothing.
    ``again`` replaces today's finished cycle (after fixing what made it fail). Every step
    runs whatever the others found. Returns the cycle, or None when it was not ours to run.
    """
    now = timezone.now()
    day = timezone.localdate(now)
    try:
        with transaction.atomic():
            if again:
                HealthCycle.objects.filter(day=day).exclude(
                    status=HealthCycle.Status.RUNNING
                ).delete()
            cycle = HealthCycle.objects.create(day=day, started_at=now)
    except IntegrityError:
        logger.info("Health cycle for %s already ran; not running it again", day)
        return None
    all_ok = True
    for position, (name, step) in enumerate(STEPS):
        started = time.monotonic()
        ok, detail = _run_step(step)
        duration_ms = round((time.monotonic() - started) * 1000)
        HealthStep.objects.create(
            cycle=cycle, position=position, name=name, ok=ok, detail=detail, duration_ms=duration_ms
        )
        all_ok = all_ok and ok
    cycle.status = HealthCycle.Status.OK if all_ok else HealthCycle.Status.FAILED
    cycle.finished_at = timezone.now()
    cycle.save(update_fields=["status", "finished_at"])
    log = logger.info if all_ok else logger.error
    log("Health cycle for %s: %s", day, cycle.status)
    return cycle


# Heartbeats


def heartbeat_record() -> None:
    """This minute had a heartbeat (a second one in the same minute changes nothing)."""
    minute = timezone.now().replace(second=0, microsecond=0)
    Heartbeat.objects.bulk_create([Heartbeat(minute=minute)], ignore_conflicts=True)


# Incidents and the e-mails about them


def alert_recipients() -> list[str]:
    """Superusers and clinic administrators (active staff of a clinic), and any extra
    addresses in ``EPORTAL_ALERT_EMAILS``."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True, clinic__isnull=False))
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted(set(users) | set(settings.EPORTAL_ALERT_EMAILS))


def _monitoring_url() -> str:
    base = settings.EPORTAL_PUBLIC_BASE_URL
    path = reverse("admin:ops_healthcycle_changelist")
    return base.rstrip("/") + path if base else path


def _send(incident: Incident, *, opened: bool) -> None:
    recipients = alert_recipients()
    if not recipients:
        logger.warning("Incident %s: nobody to tell (no staff e-mail addresses)", incident.pk)
        return
    with translation.override(settings.LANGUAGE_CODE):
        kind = incident.get_kind_display()
        opened_at = formats.date_format(timezone.localtime(incident.opened_at), "DATETIME_FORMAT")
        if opened:
            subject = _("ePortal alert: %(kind)s") % {"kind": kind}
            body = _(
                "%(kind)s since %(opened)s.\n\n%(summary)s\n\nThe monitoring page: %(url)s\n\n"
                "You get one more e-mail when it is over."
            ) % {
                "kind": kind,
                "opened": opened_at,
                "summary": incident.summary,
                "url": _monitoring_url(),
            }
        else:
            closed_at = formats.date_format(
                timezone.localtime(incident.closed_at), "DATETIME_FORMAT"
            )
            subject = _("ePortal recovered: %(kind)s") % {"kind": kind}
            body = _("%(kind)s is over: from %(opened)s to %(closed)s.\n\n%(url)s") % {
                "kind": kind,
                "opened": opened_at,
                "closed": closed_at,
                "url": _monitoring_url(),
            }
    # One message per person: clinic administrators do not see each other's addresses.
    messages = [(subject, body, None, [address]) for address in recipients]
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:
        logger.exception("Incident %s: the alert e-mail could not be sent", incident.pk)


def _open(kind: str, summary: str, now: datetime.datetime) -> Incident | None:
    try:
        with transaction.atomic():
            incident = Incident.objects.create(kind=kind, summary=summary[:200], opened_at=now)
    except IntegrityError:
        return None  # already open: staff were told
    logger.error("Incident opened: %s (%s)", kind, summary)
    _send(incident, opened=True)
    return incident


def _close(kind: str, now: datetime.datetime) -> Incident | None:
    incident = Incident.objects.filter(kind=kind, closed_at__isnull=True).first()
    if incident is None:
        return None
    # Conditional: of two checks closing it at once, one sends the e-mail.
    if not Incident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(closed_at=now):
        return None
    incident.closed_at = now
    logger.warning("Incident closed: %s", kind)
    _send(incident, opened=False)
    return incident


def _heartbeat_problem(now: datetime.datetime) -> str | None:
    last = Heartbeat.objects.order_by("-minute").values_list("minute", flat=True).first()
    if last is None:
        return None  # monitoring has not started yet
    this_minute = now.replace(second=0, microsecond=0)
    if last < this_minute - HEARTBEAT_GRACE:
        local = timezone.localtime(last)
        return f"last heartbeat {local:%Y-%m-%d %H:%M}"
    return None


def _cycle_problem(now: datetime.datetime) -> str | None:
    cycle = HealthCycle.objects.order_by("-day").first()
    if cycle is None:
        return None
    if cycle.status == HealthCycle.Status.FAILED:
        failed = cycle.steps.filter(ok=False).values_list("name", flat=True)
        return f"cycle of {cycle.day} failed: {', '.join(failed)}"
    if cycle.status == HealthCycle.Status.RUNNING and cycle.started_at < now - CYCLE_MAX_RUNTIME:
        return f"cycle of {cycle.day} did not finish"
    return None


def incidents_check() -> None:
    """Open or close an incident for each kind; run it every minute.

    An incident e-mails staff once when it opens and once when it closes, however many
    checks see it in between.
    """
    now = timezone.now()
    for kind, problem in (
        (Incident.Kind.HEARTBEAT, _heartbeat_problem(now)),
        (Incident.Kind.CYCLE, _cycle_problem(now)),
    ):
        if problem:
            _open(kind, problem, now)
        elif kind == Incident.Kind.HEARTBEAT or not _cycle_running(now):
            _close(kind, now)


def _cycle_running(now: datetime.datetime) -> bool:
    return HealthCycle.objects.filter(
        status=HealthCycle.Status.RUNNING, started_at__gte=now - CYCLE_MAX_RUNTIME
    ).exists()
