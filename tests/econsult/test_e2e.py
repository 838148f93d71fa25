"""eConsultation in real browsers (issue #10 §3 and §4).

One journey: a patient logs in with password and an SMS code (read from the file backend),
goes to "Ny eKonsultasjon" by keyboard alone, picks a practitioner, writes, attaches a
picture and sends; the practitioner answers from the admin inbox; the answer SMS arrives;
the patient follows its link, is asked for BankID, logs in at the local OpenID Connect
provider and reads the answer on the thread. Every ePortal page on the way is checked with
axe-core (WCAG 2.1 AA).

And one attack: markup in the subject, the message and an attachment's file name is shown as
text on the staff pages (and the patient's), and never runs. That browser context ignores
the Content-Security-Policy, so the test checks the escaping, not only the CSP behind it.

Found by structure and data (URLs, ids, names, database state), not by wording, except the
answer SMS, whose exact Norwegian text is the point.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from delegation.models import Service
from delegation.services import service_matrix_save
from econsult.models import Attachment, Consultation, Message
from identification.models import PatientCredential
from tests import factories
from tests.e2e.conftest import assert_accessible

from .conftest import upload
from .samples import PNG

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "fjelltur-i-oktober-2026"
STAFF_PASSWORD = "correct-horse-battery"
QUESTION = "Jeg har hatt utslett på armen i en uke.\nDet klør mest om kvelden."
ANSWER = "Det ser ut som eksem. Smør med fuktighetskrem morgen og kveld i to uker."


@pytest.fixture
def journey(world, settings, live_server):
    """The econsult world with two practitioners offered, a patient password, and the GP's
    own staff user; SMS links point at the live server."""
    service_matrix_save(
        clinic=world.clinic,
        service=Service.ECONSULT,
        cells=[(world.gp_list.pk, world.gp.pk), (world.gp_list.pk, world.locum.pk)],
    )
    PatientCredential.objects.create(patient=world.patient, password=make_password(PASSWORD))
    world.staff = factories.make_staff(
        world.clinic, email="hansen@bakkehuset.example", practitioner=world.gp
    )
    settings.EPORTAL_PUBLIC_BASE_URL = live_server.url
    world.base = f"{live_server.url}/c/{world.clinic.ep_ident}"
    return world


def sms_texts(sms_dir) -> list[str]:
    """Each SMS's text, without the file backend's To/Purpose lines."""
    return [
        f.read_text(encoding="utf-8").split("\n\n", 1)[1].rstrip("\n")
        for f in sorted(sms_dir.glob("*.txt"))
    ]


def latest_code(sms_dir) -> str:
    return re.search(r"\b(\d{6})\b", sms_texts(sms_dir)[-1]).group(1)


def tab_to(page: Page, test: str, what: str, presses: int = 80) -> None:
    """Press Tab until ``test`` (JavaScript on document.activeElement, as ``el``) holds."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {test}; }})()"):
            return
    pytest.fail(f"{what} cannot be reached with Tab")


def href_ends(path: str) -> str:
    return f"el.pathname !== undefined && el.pathname.endsWith({path!r})"


def bold(locator) -> bool:
    return int(locator.evaluate("el => getComputedStyle(el).fontWeight")) >= 700


def staff_page(browser: Browser, live_server, user, **options) -> Page:
    """A browser context of its own, logged in to the admin with email and password."""
    context = browser.new_context(locale="nb-NO", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(STAFF_PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    return page


def test_patient_asks_by_keyboard_practitioner_answers_patient_reads_after_bankid(
    page: Page, browser: Browser, live_server, journey, sms_dir, provider
):
    w = journey
    ep = w.clinic.ep_ident

    # The patient logs in with password and SMS code, keyboard only.
    page.goto(f"{w.base}/login/")
    tab_to(page, "el.name === 'national_id'", "the identity number field")
    page.keyboard.type(w.patient.national_id)
    tab_to(page, "el.name === 'password'", "the password field")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{w.base}/login/code/")
    tab_to(page, "el.name === 'code'", "the code field")
    page.keyboard.type(latest_code(sms_dir))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{w.base}/home/")

    # "Ny eKonsultasjon" from the home page's services.
    tab_to(page, href_ends(f"/c/{ep}/meldinger/ny/"), "'Ny eKonsultasjon'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{w.base}/meldinger/ny/")
    expect(page.locator("input[name=practitioner]")).to_have_count(2)
    assert_accessible(page)

    # Pick the GP (nothing is chosen beforehand when two are offered), write, attach, send.
    gp_radio = page.locator(f"#p-{w.gp.pk}")
    expect(gp_radio).not_to_be_checked()
    tab_to(page, f"el.id === 'p-{w.gp.pk}'", "the GP's radio button")
    page.keyboard.press("Space")
    expect(gp_radio).to_be_checked()
    tab_to(page, "el.name === 'subject'", "the subject field")
    page.keyboard.type("Utslett på armen")
    tab_to(page, "el.name === 'body'", "the message field")
    page.keyboard.type(QUESTION)
    tab_to(page, "el.type === 'file' && el.name === 'attachments'", "the attachment field")
    # No keyboard drives the operating system's file picker in a headless browser.
    page.locator("input[type=file][name=attachments]").set_input_files(
        {"name": "utslett.png", "mimeType": "image/png", "buffer": PNG}
    )
    tab_to(
        page, "el.type === 'submit' && el.form && el.form.enctype.startsWith('multipart')", "Send"
    )
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/meldinger/\d+/$"))
    consultation = Consultation.objects.get()
    thread_path = f"/c/{ep}/meldinger/{consultation.pk}/"
    expect(page).to_have_url(f"{live_server.url}{thread_path}")
    assert consultation.practitioner == w.gp
    assert consultation.subject == "Utslett på armen"
    message = consultation.messages.get()
    assert message.body == QUESTION
    attachment = message.attachments.get()
    assert (attachment.name, attachment.content_type) == ("utslett.png", "image/png")
    expect(page.locator("[role=status]")).to_be_visible()  # "sent, answer by ..."
    expect(page.locator(f'main a[href="/c/{ep}/meldinger/vedlegg/{attachment.pk}/"]')).to_have_text(
        "utslett.png"
    )
    assert_accessible(page)

    tab_to(page, href_ends(f"/c/{ep}/meldinger/"), "'Mine meldinger'")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{w.base}/meldinger/")
    expect(page.locator(f'main a[href="{thread_path}"]')).to_have_text("Utslett på armen")
    assert_accessible(page)

    # The practitioner answers from the inbox, in a browser of their own.
    staff = staff_page(browser, live_server, w.staff)
    staff.goto(f"{live_server.url}/admin/econsult/inbox/")
    row = staff.locator("#content-main table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\bunread\b"))
    expect(row).to_contain_text(w.patient.name)
    assert bold(row.locator("td").first)  # unread: the whole row in bold
    assert_accessible(staff)
    row.locator(f'a[href="/admin/econsult/inbox/{consultation.pk}/"]').click()
    detail_url = f"{live_server.url}/admin/econsult/inbox/{consultation.pk}/"
    expect(staff).to_have_url(detail_url)
    expect(staff.locator("h1")).to_have_text("Utslett på armen")
    question = staff.locator(".econsult-thread li.patient .body")
    expect(question).to_have_text(QUESTION)
    assert question.inner_text() == QUESTION  # the patient's line breaks are kept
    expect(
        staff.locator(f'.econsult-thread a[href="/admin/econsult/inbox/file/{attachment.pk}/"]')
    ).to_have_text("utslett.png")
    assert_accessible(staff)
    staff.locator("textarea[name=body]").fill(ANSWER)
    staff.locator("button[name=action][value=answer]").click()
    expect(staff).to_have_url(detail_url)
    expect(staff.locator(".econsult-thread li.clinic .body")).to_have_text(ANSWER)
    assert_accessible(staff)
    staff.context.close()

    consultation.refresh_from_db()
    assert consultation.status == "answered" and consultation.unread_by_patient
    answer = Message.objects.get(consultation=consultation, author="clinic")
    assert (answer.staff, answer.practitioner) == (w.staff, w.gp)

    # The answer SMS: that the clinic answered and a link, nothing of the conversation.
    link = f"{live_server.url}{thread_path}"
    last = sorted(sms_dir.glob("*.txt"))[-1].read_text(encoding="utf-8")
    assert last.startswith(f"To: {w.patient.mobile}\nPurpose: econsult_answer\n\n")
    assert sms_texts(sms_dir)[-1] == (
        f"Du har fått svar fra {w.clinic.name}. Logg inn for å lese: {link}"
    )

    # The patient follows the link: still the password + SMS session, so BankID first.
    page.goto(link)
    expect(page).to_have_url(link)
    expect(page.locator("main")).not_to_contain_text(ANSWER)
    bankid = page.locator(f'main a[href^="/c/{ep}/bankid/?next="]')
    expect(bankid).to_have_count(1)
    href = bankid.get_attribute("href")
    assert parse_qs(urlsplit(href).query)["next"] == [thread_path]
    assert_accessible(page)
    tab_to(page, f"el.getAttribute('href') === {href!r}", "BankID")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile("^" + re.escape(f"{provider.issuer}/authorize?")))
    tab_to(page, "el.name === 'pid'", "the provider's identity number field", presses=10)
    page.keyboard.type(w.patient.national_id)
    page.keyboard.press("Enter")  # the form's first button: "Log in"

    expect(page).to_have_url(link)
    expect(page.locator("main .border-primary .message-body")).to_have_text(
        ANSWER, use_inner_text=True
    )
    expect(page.locator(f'main a[href^="/c/{ep}/bankid/"]')).to_have_count(0)
    expect(page.locator("form textarea[name=body]")).to_be_visible()  # may reply
    assert_accessible(page)
    consultation.refresh_from_db()
    assert consultation.unread_by_patient is False


XSS_SUBJECT = '<script>alert("s")</script><img src=x onerror="window.__xss_subject=1">'
XSS_BODY = (
    "Hei <script>window.__xss_body=1;alert('b')</script>\n"
    "<img src=x onerror=\"window.__xss_body_img=1;alert('bi')\">"
)
# No "/" in a file name (the upload keeps what follows the last one), and no '"' or ';'
# (the test client puts the name into the multipart header without escaping).
XSS_FILE = "<img src=x onerror=alert(window.__xss_file=7)>.png"
FLAGS = ("__xss_subject", "__xss_body", "__xss_body_img", "__xss_file")


def assert_inert(page: Page, dialogs: list[str]) -> None:
    """Nothing of the payloads ran or became an element."""
    assert dialogs == []
    for flag in FLAGS:
        assert page.evaluate(f"typeof window.{flag}") == "undefined", flag
    assert page.locator("img[src=x]").count() == 0
    assert not page.evaluate("[...document.scripts].some(s => s.text.includes('__xss'))")
    assert not page.evaluate("[...document.scripts].some(s => s.text.includes('alert('))")


def test_markup_in_subject_message_and_file_name_never_runs(
    browser: Browser, live_server, journey, client
):
    w = journey
    # The patient sends through the real form (the form's clean-up and the file checks).
    patient_client = factories.log_in_patient(w.patient, client=client)
    new_url = reverse("econsult:new", kwargs={"ep_ident": w.clinic.ep_ident})
    form_page = patient_client.get(new_url)
    sent = patient_client.post(
        new_url,
        {
            "practitioner": w.gp.pk,
            "subject": XSS_SUBJECT,
            "body": XSS_BODY,
            "key": form_page.context["key"],
            "attachments": [upload(XSS_FILE, PNG)],
        },
    )
    assert sent.status_code == 302, sent.content
    consultation = Consultation.objects.get()
    attachment = Attachment.objects.get()
    assert consultation.subject == XSS_SUBJECT
    assert attachment.name == XSS_FILE

    # The practitioner's browser, with the CSP switched off: only escaping stands between.
    staff = staff_page(browser, live_server, w.staff, bypass_csp=True)
    dialogs: list[str] = []
    staff.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    staff.goto(f"{live_server.url}/admin/econsult/inbox/")
    link = staff.locator(f'#content-main a[href="/admin/econsult/inbox/{consultation.pk}/"]')
    expect(link).to_have_text(XSS_SUBJECT)
    assert_inert(staff, dialogs)
    assert_accessible(staff)

    link.click()
    expect(staff).to_have_url(f"{live_server.url}/admin/econsult/inbox/{consultation.pk}/")
    expect(staff.locator("h1")).to_have_text(XSS_SUBJECT)
    expect(staff.locator(".econsult-thread li.patient .body")).to_have_text(XSS_BODY)
    file_link = staff.locator(f'a[href="/admin/econsult/inbox/file/{attachment.pk}/"]')
    expect(file_link).to_have_text(XSS_FILE)
    assert_inert(staff, dialogs)
    assert_accessible(staff)

    # The answer page after a POST (the messages framework's banner) too.
    staff.locator("textarea[name=body]").fill("Takk, vi ser på det.")
    staff.locator("button[name=action][value=answer]").click()
    expect(staff.locator(".econsult-thread li.clinic")).to_have_count(1)
    expect(staff.locator("h1")).to_have_text(XSS_SUBJECT)
    assert_inert(staff, dialogs)
    staff.context.close()

    # The patient's own pages show it as text too (a BankID session, so the whole thread).
    context = browser.new_context(locale="nb-NO", bypass_csp=True)
    context.set_default_timeout(10_000)
    session = factories.log_in_patient(w.patient, method="bankid")
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": session.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    patient = context.new_page()
    patient.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    patient.goto(f"{w.base}/meldinger/")
    thread_path = f"/c/{w.clinic.ep_ident}/meldinger/{consultation.pk}/"
    expect(patient.locator(f'main a[href="{thread_path}"]')).to_have_text(XSS_SUBJECT)
    assert_inert(patient, dialogs)
    assert_accessible(patient)  # with the "new answer" badge
    patient.goto(f"{live_server.url}{thread_path}")
    expect(patient.locator("h1")).to_have_text(XSS_SUBJECT)
    expect(patient.locator("main .message-body").first).to_have_text(XSS_BODY, use_inner_text=True)
    expect(patient.locator(f'a[href$="/meldinger/vedlegg/{attachment.pk}/"]')).to_have_text(
        XSS_FILE
    )
    assert_inert(patient, dialogs)
    assert_accessible(patient)
    context.close()
