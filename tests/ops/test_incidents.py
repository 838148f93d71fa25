"""Alerts: one e-mail when an incident opens and one when it closes, never one per check."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from ops import services, tasks
from ops.models import HealthCycle, HealthStep, Heartbeat, Incident
from tests import factories
from tests.ops.conftest import oslo

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def staff(clinic_admin, other_admin, superuser):
    # Staff without a clinic and inactive administrators get no alerts.
    factories.make_staff(None, email="helper@example.org")
    factories.make_staff(clinic_admin.clinic, email="gone@bakkehuset.example", is_active=False)
    return sorted([clinic_admin.email, other_admin.email, superuser.email])


def test_recipients_are_superusers_and_clinic_administrators(staff, settings):
    settings.EPORTAL_ALERT_EMAILS = ["drift@example.org"]
    assert services.alert_recipients() == sorted([*staff, "drift@example.org"])


def test_silent_heartbeat_mails_once_when_it_starts_and_once_when_it_ends(staff, mailoutbox):
    with time_machine.travel(oslo(2026, 5, 4, 10, 0, 1), tick=False) as clock:
        services.heartbeat_record()
        for _ in range(5):  # five minutes without one: not yet
            clock.shift(MINUTE)
            tasks.check_incidents.delay()
        assert mailoutbox == []
        for _ in range(10):  # the sixth minute opens it; the following checks keep quiet
            clock.shift(MINUTE)
            services.incidents_check()
        assert len(mailoutbox) == len(staff)
        assert sorted(m.to[0] for m in mailoutbox) == staff
        assert all(len(m.to) == 1 for m in mailoutbox)
        assert "ePortal" in mailoutbox[0].subject
        assert Incident.objects.filter(closed_at__isnull=True).count() == 1
        clock.shift(MINUTE)
        services.heartbeat_record()
        services.incidents_check()
        services.incidents_check()
    assert len(mailoutbox) == 2 * len(staff)
    incident = Incident.objects.get()
    assert incident.kind == Incident.Kind.HEARTBEAT
    assert incident.closed_at is not None


def test_failed_cycle_opens_an_incident_until_a_cycle_succeeds(staff, mailoutbox, settings):
    with time_machine.travel(oslo(2026, 5, 4, 5, 0), tick=True) as clock:
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
        services.health_cycle_run()
        services.incidents_check()
        services.incidents_check()
        assert len(mailoutbox) == len(staff)
        assert "broker" in Incident.objects.get().summary
        clock.move_to(oslo(2026, 5, 5, 5, 0))
        settings.CELERY_BROKER_URL = "memory://"
        services.health_cycle_run()
        services.incidents_check()
    assert len(mailoutbox) == 2 * len(staff)
    assert Incident.objects.get().closed_at is not None


def test_a_cycle_that_never_finished_is_an_incident(staff, mailoutbox):
    with time_machine.travel(oslo(2026, 5, 4, 5, 40), tick=False):
        HealthCycle.objects.create(day=datetime.date(2026, 5, 4), started_at=oslo(2026, 5, 4, 5))
        services.incidents_check()
    assert Incident.objects.get().summary == "cycle of 2026-05-04 did not finish"
    assert len(mailoutbox) == len(staff)


def test_no_alert_before_monitoring_began(staff, mailoutbox):
    services.incidents_check()
    assert mailoutbox == [] and not Incident.objects.exists()
    assert not Heartbeat.objects.exists() and not HealthStep.objects.exists()


def test_the_watch_command_checks_without_a_worker(staff, mailoutbox):
    from django.core.management import call_command

    with time_machine.travel(oslo(2026, 5, 4, 10, 0), tick=False) as clock:
        services.heartbeat_record()
        clock.shift(datetime.timedelta(minutes=7))
        call_command("ops_watch")
    assert len(mailoutbox) == len(staff)
