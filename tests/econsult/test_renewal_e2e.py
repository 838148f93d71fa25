"""Prescription renewal and "Kontakt ekspedisjonen" in real browsers (docs/econsult.md).

The renewal journey: a patient with three medicines in the record (one a B-preparation,
listed but disabled with its reason) logs in with BankID at the local OpenID Connect
provider and asks to renew the two others; the GP approves one and marks the other "needs an
appointment" in the admin; the SMS says only that the request was handled; the patient sees
the status per medicine, follows "book with the GP" and books a time with that GP, although
the matrix also offers a locum.

The reception journey: a practical message answered by reception staff and read by the
patient; a message that reads as clinical gets the offer to write it as an eConsultation.

Every page on the way is checked with axe-core (WCAG 2.1 AA), and the patient's and the
staff's renewal and reception pages also in nynorsk and English.

Found by structure and data (URLs, ids, names, database state), not by wording, except the
SMS, whose exact Norwegian text is the point.
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from booking.models import Appointment, AppointmentType, BookingSettings
from clinics.models import Medication
from delegation.models import Service
from delegation.services import service_matrix_save
from econsult.models import Consultation, Message, RenewalItem, RenewalRequest
from tests import factories
from tests.e2e.conftest import assert_accessible
from tests.factories import OSLO, make_slot
from tests.oidc_provider import TestProvider

from .test_e2e import sms_texts, staff_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANARY = "Kanarifuglin"
ANSWER = "Vi har sendt en kopi av sykmeldingen til NAV i dag."


def medication(patient, key: str, name: str, group: str = "C", **fields) -> Medication:
    return Medication.objects.create(
        patient=patient, key=key, name=name, strength="10 mg", form="tablett", group=group, **fields
    )


@pytest.fixture
def journey(world, settings, live_server):
    """The econsult world with three medicines for the patient, renewal to the own GP,
    booking with the GP and a locum (a free time each next week), the GP's staff user and a
    reception staff user; SMS links point at the live server."""
    w = world
    w.blood = medication(w.patient, "m1", "Albyl-E", atc="B01AC06")
    w.pain = medication(w.patient, "m2", CANARY, atc="N02BE01")
    w.sleep = medication(w.patient, "m3", "Stilnoct", group="B", atc="N05CF02")
    service_matrix_save(clinic=w.clinic, service=Service.RENEWAL, cells=[(w.gp_list.pk, w.gp.pk)])
    service_matrix_save(
        clinic=w.clinic,
        service=Service.BOOKING,
        cells=[(w.gp_list.pk, w.gp.pk), (w.gp_list.pk, w.locum.pk)],
    )
    BookingSettings.objects.create(clinic=w.clinic)
    ep = AppointmentType.objects.create(
        clinic=w.clinic, key="ep", name="ePortal", minutes=20, online=True
    )
    today = datetime.datetime.now(OSLO).date()
    w.day = today + datetime.timedelta(days=7 - today.weekday() + 2)  # next week's Wednesday
    at = datetime.datetime.combine(w.day, datetime.time(10, 0), tzinfo=OSLO)
    w.locum_slot = make_slot(w.locum, ep, at)
    w.gp_slot = make_slot(w.gp, ep, at + datetime.timedelta(minutes=40))
    w.staff = factories.make_staff(w.clinic, email="hansen@renewal.example", practitioner=w.gp)
    w.reception = factories.make_staff(
        w.clinic, email="skranken@renewal.example", is_reception=True
    )
    settings.EPORTAL_PUBLIC_BASE_URL = live_server.url
    w.base = f"{live_server.url}/c/{w.clinic.ep_ident}"
    return w


def log_in_with_bankid(page: Page, w, provider: TestProvider) -> None:
    page.goto(f"{w.base}/")
    page.locator(f'a[href="/c/{w.clinic.ep_ident}/bankid/"]').click()
    expect(page).to_have_url(re.compile("^" + re.escape(f"{provider.issuer}/authorize?")))
    page.locator("input[name=pid]").fill(w.patient.national_id)
    page.locator("button[name=action][value=login]").click()
    expect(page).to_have_url(f"{w.base}/home/")


def in_language(page: Page, live_server, language: str) -> None:
    host = live_server.url.split("//", 1)[1].split(":")[0]
    page.context.add_cookies(
        [{"name": "eportal_language", "value": language, "domain": host, "path": "/"}]
    )


def test_renew_two_one_approved_one_needs_appointment_then_book_with_the_gp(
    page: Page, browser: Browser, live_server, journey, sms_dir, provider
):
    w = journey
    ep = w.clinic.ep_ident
    log_in_with_bankid(page, w, provider)

    # "Forny resept" from the home page.
    page.locator(f'main a[href="/c/{ep}/resept/"]').first.click()
    expect(page).to_have_url(f"{w.base}/resept/")
    expect(page.locator(f"#med-{w.blood.pk}")).to_be_enabled()
    expect(page.locator(f"#med-{w.pain.pk}")).to_be_enabled()
    sleep = page.locator(f"#med-{w.sleep.pk}")
    expect(sleep).to_be_disabled()
    # The reason is tied to the box, and the way out is a booking.
    assert sleep.get_attribute("aria-describedby") == f"why-{w.sleep.pk}"
    expect(page.locator(f'#why-{w.sleep.pk} a[href="/c/{ep}/timer/"]')).to_have_count(1)
    expect(page.locator("input[type=hidden][name=practitioner]")).to_have_value(str(w.gp.pk))
    assert_accessible(page)

    page.locator(f"#med-{w.blood.pk}").check()
    page.locator(f"#med-{w.pain.pk}").check()
    page.locator("textarea[name=note]").fill("Går tom for begge neste uke.")
    page.locator("main form[method=post] button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/c/{ep}/resept/\d+/$"))
    renewal = RenewalRequest.objects.get()
    detail_url = f"{w.base}/resept/{renewal.pk}/"
    expect(page).to_have_url(detail_url)
    assert renewal.practitioner == w.gp and renewal.patient == w.patient
    items = {item.medication_id: item for item in renewal.items.all()}
    assert set(items) == {w.blood.pk, w.pain.pk}
    assert all(item.status == RenewalItem.Status.REQUESTED for item in items.values())
    expect(page.locator("main tbody tr")).to_have_count(2)
    assert_accessible(page)

    # The GP decides in the admin: one renewed, one needs an appointment.
    staff = staff_page(browser, live_server, w.staff)
    staff.goto(f"{live_server.url}/admin/econsult/inbox/renewals/")
    link = staff.locator(f'#content-main a[href="/admin/econsult/inbox/renewals/{renewal.pk}/"]')
    expect(link).to_have_count(1)
    assert_accessible(staff)
    link.click()
    expect(staff).to_have_url(f"{live_server.url}/admin/econsult/inbox/renewals/{renewal.pk}/")
    expect(staff.locator("#content-main")).to_contain_text(CANARY)
    assert_accessible(staff)
    blood, pain = items[w.blood.pk], items[w.pain.pk]
    staff.locator(f"#d-{blood.pk}-approved").check()
    staff.locator(f"#d-{pain.pk}-needs").check()
    staff.locator(f"#c-{pain.pk}").fill("Vi må se på dosen sammen.")
    staff.locator(".submit-row button").click()
    expect(staff.locator(f"#d-{blood.pk}-approved")).to_have_count(0)  # decided
    assert_accessible(staff)
    staff.context.close()

    blood.refresh_from_db()
    pain.refresh_from_db()
    assert blood.status == RenewalItem.Status.APPROVED
    assert pain.status == RenewalItem.Status.NEEDS_APPOINTMENT

    # One SMS, the clinic's name and nothing of the medicines.
    texts = sms_texts(sms_dir)
    assert texts[-1] == (
        f"Din forespørsel hos {w.clinic.name} er behandlet. Logg inn for å se svaret."
    )
    assert not any(CANARY in text or "Albyl" in text for text in texts)

    # The patient sees the status per medicine and books with the GP from the link.
    page.goto(detail_url)
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("main")).to_contain_text("Vi må se på dosen sammen.")
    book = page.locator(f'main a[href="/c/{ep}/timer/?p={w.gp.pk}"]')
    expect(book).to_have_count(1)
    assert_accessible(page)
    book.click()
    expect(page).to_have_url(f"{w.base}/timer/?p={w.gp.pk}")
    monday = w.day - datetime.timedelta(days=w.day.weekday())
    next_week = page.locator(f'main a[href*="week={monday}"]').first
    if page.locator(f"#slot-{w.gp_slot.pk}").count() == 0:
        next_week.click()
    expect(page.locator(f"#slot-{w.gp_slot.pk}")).to_have_count(1)
    expect(page.locator(f"#slot-{w.locum_slot.pk}")).to_have_count(0)  # only the GP's times
    assert_accessible(page)
    page.locator(f"#slot-{w.gp_slot.pk}").click()
    expect(page).to_have_url(f"{w.base}/timer/{w.gp_slot.pk}/")
    page.locator("textarea[name=reason]").fill("Gjennomgang av medisiner")
    page.locator("form:has(textarea[name=reason]) [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/timer/bestilt/\d+/$"))
    appointment = Appointment.objects.get()
    assert appointment.practitioner == w.gp
    assert appointment.slot == w.gp_slot
    assert appointment.patient == w.patient

    # The renewal pages, the patient's and the staff's, in nynorsk and English too.
    staff = staff_page(browser, live_server, w.staff)
    for language in ("nn", "en"):
        in_language(page, live_server, language)
        in_language(staff, live_server, language)
        for url in (f"{w.base}/resept/", detail_url):
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", language)
            assert_accessible(page)
        staff.goto(f"{live_server.url}/admin/econsult/inbox/renewals/{renewal.pk}/")
        expect(staff.locator("html")).to_have_attribute("lang", language)
        assert_accessible(staff)
    staff.context.close()


def test_reception_message_answered_and_a_clinical_one_offered_as_econsultation(
    page: Page, browser: Browser, live_server, journey, sms_dir, provider
):
    w = journey
    ep = w.clinic.ep_ident
    service_matrix_save(clinic=w.clinic, service=Service.ECONSULT, cells=[(w.gp_list.pk, w.gp.pk)])
    log_in_with_bankid(page, w, provider)

    page.locator(f'main a[href="/c/{ep}/meldinger/ekspedisjonen/"]').first.click()
    expect(page).to_have_url(f"{w.base}/meldinger/ekspedisjonen/")
    expect(page.locator("main [role=note]")).to_be_visible()  # not for medical questions
    assert_accessible(page)

    # A message that reads as clinical: the offer to make it an eConsultation instead.
    page.locator("input[name=subject]").fill("Vondt i brystet")
    page.locator("textarea[name=body]").fill("Jeg har hatt vondt i brystet og feber i tre dager.")
    page.locator("main form button[type=submit]").first.click()
    alert = page.locator("main [role=alert]")
    expect(alert).to_be_visible()
    assert Consultation.objects.count() == 0  # nothing sent yet
    assert_accessible(page)
    alert.locator("button[name=as][value=econsult]").click()
    expect(page).to_have_url(re.compile(rf"/c/{ep}/meldinger/ny/"))
    expect(page.locator("input[name=subject]")).to_have_value("Vondt i brystet")
    expect(page.locator("textarea[name=body]")).to_have_value(
        "Jeg har hatt vondt i brystet og feber i tre dager."
    )
    assert Consultation.objects.count() == 0
    assert_accessible(page)

    # A practical one goes to the reception.
    page.goto(f"{w.base}/meldinger/ekspedisjonen/")
    page.locator("input[name=subject]").fill("Kopi av sykmelding")
    page.locator("textarea[name=body]").fill("Kan dere sende en kopi av sykmeldingen min til NAV?")
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(rf"/c/{ep}/meldinger/\d+/$"))
    message = Consultation.objects.get()
    assert message.kind == Consultation.Kind.RECEPTION and message.practitioner is None
    assert message.fee_nok == 0
    thread_url = f"{w.base}/meldinger/{message.pk}/"
    expect(page).to_have_url(thread_url)
    assert_accessible(page)

    # Reception staff: the inbox opens on the reception's messages.
    staff = staff_page(browser, live_server, w.reception)
    staff.goto(f"{live_server.url}/admin/econsult/inbox/")
    link = staff.locator(f'#content-main a[href="/admin/econsult/inbox/{message.pk}/"]')
    expect(link).to_have_count(1)
    assert_accessible(staff)
    link.click()
    staff.locator("textarea[name=body]").fill(ANSWER)
    staff.locator("button[name=action][value=answer]").click()
    expect(staff.locator(".econsult-thread li.clinic .body")).to_have_text(ANSWER)
    assert_accessible(staff)
    answer = Message.objects.get(consultation=message, author="clinic")
    assert answer.staff == w.reception

    assert sms_texts(sms_dir)[-1] == (
        f"Du har fått svar fra {w.clinic.name}. Logg inn for å lese: "
        f"{live_server.url}/c/{ep}/meldinger/{message.pk}/"
    )

    # The patient (a BankID session) reads the answer.
    page.goto(thread_url)
    expect(page.locator("main .border-primary .message-body")).to_have_text(
        ANSWER, use_inner_text=True
    )
    assert_accessible(page)
    message.refresh_from_db()
    assert message.unread_by_patient is False

    for language in ("nn", "en"):
        in_language(page, live_server, language)
        in_language(staff, live_server, language)
        for url in (f"{w.base}/meldinger/ekspedisjonen/", thread_url, f"{w.base}/meldinger/"):
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", language)
            assert_accessible(page)
        staff.goto(f"{live_server.url}/admin/econsult/inbox/{message.pk}/")
        expect(staff.locator("html")).to_have_attribute("lang", language)
        assert_accessible(staff)
    staff.context.close()
