"""The login limits hold exactly: under simultaneous requests, for 'send a new code', and
the request does the same work whether or not the number is eligible (issue: security)."""

from __future__ import annotations

import gc
import statistics
import threading
import time

import pytest
from django.db import connection
from django.test import Client

import sms
from clinics.models import AuditEvent
from identification import services as ident
from identification.models import LoginChallenge, ThrottleEvent
from tests import factories

PASSWORD = "blåbærsyltetøy-på-hytta"


@pytest.fixture
def patient(clinic):
    return factories.make_patient(clinic, mobile="+4741234567")


def english(client: Client) -> Client:
    client.cookies["eportal_language"] = "en"
    return client


def new_user(client: Client, national_id: str):
    return client.post("/c/DEMO1/password/", {"national_id": national_id})


def resend(client: Client):
    return client.post("/c/DEMO1/login/code/new/", follow=True)


@pytest.mark.django_db(transaction=True)
def test_send_a_new_code_counts_against_the_per_ip_limit(client, patient, settings):
    settings.EPORTAL_ATTEMPTS_PER_IP = 3
    settings.EPORTAL_CODES_PER_PERSON = 100
    english(client)
    new_user(client, patient.national_id)
    assert "wait" not in resend(client).content.decode()
    assert "wait" not in resend(client).content.decode()
    assert len(sms.outbox) == 3
    assert "Too many attempts" in resend(client).content.decode()
    assert len(sms.outbox) == 3
    # Another address is not affected.
    other = english(Client(REMOTE_ADDR="127.0.0.77"))
    assert new_user(other, patient.national_id).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_send_a_new_code_counts_against_the_clinic_daily_cap(client, clinic, settings):
    settings.EPORTAL_SMS_PER_CLINIC_PER_DAY = 2
    english(client)
    first = factories.make_patient(clinic)
    new_user(client, first.national_id)
    resend(client)
    assert len(sms.outbox) == 2
    assert "Too many attempts" in resend(client).content.decode()
    assert len(sms.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_each_code_once_and_only_the_newest(client, patient):
    new_user(client, patient.national_id)
    challenge = LoginChallenge.objects.get(patient=patient)
    assert len(sms.outbox) == 1
    code = sms.outbox[-1].text
    # The task delivered twice (a redelivery after a lost ack): nothing more is sent and
    # the code that was sent still works.
    assert ident.deliver_code(challenge_id=challenge.pk, serial=challenge.code_serial) is False
    assert len(sms.outbox) == 1
    challenge.refresh_from_db()
    assert sms.outbox[-1].text == code
    # A stale task (an older request of the same attempt) sends nothing either.
    resend(client)
    assert len(sms.outbox) == 2
    assert ident.deliver_code(challenge_id=challenge.pk, serial=1) is False
    assert len(sms.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_no_sms_and_no_code_for_a_number_that_is_not_eligible(client, clinic):
    stranger = factories.national_id()
    assert new_user(client, stranger).status_code == 302
    assert sms.outbox == []
    challenge = LoginChallenge.objects.get()
    assert challenge.patient is None
    assert ident.deliver_code(challenge_id=challenge.pk, serial=challenge.code_serial) is False
    assert AuditEvent.objects.filter(action="patient.code_requested").count() == 1
    assert not AuditEvent.objects.filter(action="patient.code_sent").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "words"), [("nb", "Koden din for ePortal"), ("en", "Your ePortal code")]
)
def test_the_code_sms_speaks_the_language_of_the_page(client, patient, language, words):
    client.cookies["eportal_language"] = language
    new_user(client, patient.national_id)
    assert words in sms.outbox[-1].text


# Simultaneous requests (PostgreSQL: each thread its own connection)


def all_at_once(n: int, request) -> list[str]:
    barrier = threading.Barrier(n)
    pages: list[str] = [""] * n

    def run(i: int) -> None:
        try:
            client = english(Client(REMOTE_ADDR=f"127.0.1.{i + 1}"))
            barrier.wait()
            pages[i] = request(client).content.decode()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return pages


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_new_user_requests_send_exactly_the_limit(patient, settings):
    settings.EPORTAL_CODES_PER_PERSON = 3
    pages = all_at_once(8, lambda c: new_user(c, patient.national_id))
    assert len(sms.outbox) == 3
    assert ThrottleEvent.objects.filter(scope="code").count() == 3
    assert sum("Too many attempts" in page for page in pages) == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_passwords_are_checked_exactly_the_limit(patient, settings):
    from django.contrib.auth.hashers import make_password

    from identification.models import PatientCredential

    PatientCredential.objects.create(patient=patient, password=make_password(PASSWORD))
    settings.EPORTAL_PASSWORD_FAILURES_PER_PERSON = 4

    def wrong(client: Client):
        form = {"national_id": patient.national_id, "password": "not-the-password"}
        return client.post("/c/DEMO1/login/", form)

    pages = all_at_once(12, wrong)
    assert AuditEvent.objects.filter(action="patient.login_failed").count() == 4
    assert ThrottleEvent.objects.filter(scope="pw_fail").count() == 4
    assert sum("Too many attempts" in page for page in pages) == 8
    assert not sms.outbox


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_from_one_ip_hold_the_ip_limit(clinic, settings):
    settings.EPORTAL_ATTEMPTS_PER_IP = 5
    barrier = threading.Barrier(10)
    pages: list[str] = [""] * 10

    def run(i: int) -> None:
        try:
            client = english(Client(REMOTE_ADDR="127.0.2.1"))
            barrier.wait()
            pages[i] = new_user(client, factories.national_id()).content.decode()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum("Too many attempts" in page for page in pages) == 5
    assert ThrottleEvent.objects.filter(scope="ip").count() == 5


# Timing: "Ny bruker" takes as long for an eligible number as for any other


@pytest.mark.django_db(transaction=True)
def test_new_user_answers_as_fast_for_eligible_and_other_numbers(clinic, settings, monkeypatch):
    """Measured in-process on the request path as production runs it: the code's delivery
    is a task for the worker (enqueued for every number alike), not work in the request."""
    from identification import tasks

    enqueued: list[tuple] = []
    monkeypatch.setattr(tasks.deliver_login_code, "delay", lambda *a: enqueued.append(a))
    settings.EPORTAL_ATTEMPTS_PER_IP = 10**6
    settings.EPORTAL_CODES_PER_PERSON = 10**6
    eligible = [factories.make_patient(clinic).national_id for _ in range(20)]
    others = [factories.national_id() for _ in range(20)]
    client = Client()
    differences: list[float] = []  # eligible minus other, one pair of requests at a time
    gc.collect()
    gc.disable()  # a collection inside one request of a pair is noise, not a difference
    try:
        measure_pairs(client, eligible, others, differences)
    finally:
        gc.enable()
    assert len(enqueued) == 8 * 40
    median = statistics.median(differences)
    assert abs(median) < 0.002, f"eligible numbers answer {median * 1000:.2f} ms slower"


def measure_pairs(client, eligible, others, differences) -> None:
    for round_ in range(8):
        for i in range(20):
            pair = {}
            order = ["eligible", "other"] if (i + round_) % 2 else ["other", "eligible"]
            for kind in order:
                number = eligible[i] if kind == "eligible" else others[i]
                start = time.perf_counter()
                response = new_user(client, number)
                pair[kind] = time.perf_counter() - start
                assert response.status_code == 302
            if round_:  # the first round warms caches and prepared statements
                differences.append(pair["eligible"] - pair["other"])
