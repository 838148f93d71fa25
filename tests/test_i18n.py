"""The translation catalogues and the pages in each language (bokmål, nynorsk, English).

The UI speaks bokmål by default and nynorsk or English when the user picks it with the
language switch (the ``eportal_language`` cookie). Every msgid in locale/{nb,nn} must be
translated, and a page in one language must not carry UI text of another.

These tests read the compiled catalogues (.mo), as the running site does: after changing a
.po file run ``manage.py compilemessages`` (``make install`` does it).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.utils import translation

from tests import factories

LOCALE = Path(settings.BASE_DIR) / "locale"
CLINIC_NAME = "Test Clinic"

# Catalogues


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def label(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"line {self.line}: {context}{self.msgid!r}"


_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$')


def _unquote(text: str) -> str:
    # PO strings use C escapes (\n, \t, \", \\), which a Python string literal reads the same.
    return ast.literal_eval(f'"{text}"')


def read_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (the header and obsolete ``#~`` entries left out)."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int | None] | None = None

    def flush() -> None:
        nonlocal entry, target
        if entry.msgid and entry.msgstr:
            entries.append(entry)
        entry, target = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if entry.msgstr:
                flush()
            continue
        if line.startswith("#"):
            if entry.msgstr:
                flush()
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        match = _FIELD.match(line)
        if match:
            name, index, text = match.groups()
            if name in ("msgctxt", "msgid") and entry.msgstr:
                flush()
            value = _unquote(text)
            if name == "msgctxt":
                entry.msgctxt, target = value, ("msgctxt", None)
            elif name == "msgid":
                entry.msgid, entry.line, target = value, number, ("msgid", None)
            elif name == "msgid_plural":
                entry.msgid_plural, target = value, ("msgid_plural", None)
            else:
                key = int(index) if index is not None else 0
                entry.msgstr[key], target = value, ("msgstr", key)
            continue
        assert line.startswith('"') and target is not None, f"{path}:{number}: cannot read {raw!r}"
        name, key = target
        if name == "msgstr":
            entry.msgstr[key] += _unquote(line[1:-1])
        else:
            setattr(entry, name, (getattr(entry, name) or "") + _unquote(line[1:-1]))
    flush()
    return entries


_PLACEHOLDER = re.compile(
    r"%%|%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
)
_BRACE = re.compile(r"\{\w*\}")


def placeholders(text: str, flags: set[str]) -> list[str]:
    found = []
    if "python-format" in flags:
        found += [p for p in _PLACEHOLDER.findall(text) if p != "%%"]
    if "python-brace-format" in flags:
        found += _BRACE.findall(text)
    return sorted(found)


@functools.cache
def load(language: str) -> list[Entry]:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing: run makemessages (see the Makefile, 'messages')"
    return read_po(path)


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_the_catalogues_are_compiled_and_current(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, (
        f"{mo} is missing or older than its .po: run `manage.py compilemessages`"
    )


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_every_message_is_translated_in_bokmal_and_nynorsk(language):
    entries = load(language)
    assert len(entries) > 100  # the parser read the file
    untranslated = [e.label for e in entries if not all(e.msgstr.values())]
    fuzzy = [e.label for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated in {language}: {untranslated}"
    assert not fuzzy, f"fuzzy (unchecked) in {language}: {fuzzy}"
    if any(e.msgid_plural for e in entries):
        assert all(len(e.msgstr) == 2 for e in entries if e.msgid_plural)  # nplurals=2


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_translations_keep_every_placeholder(language):
    wrong = []
    for e in load(language):
        for index, text in e.msgstr.items():
            source = e.msgid_plural if (e.msgid_plural and index > 0) else e.msgid
            if text and placeholders(text, e.flags) != placeholders(source, e.flags):
                wrong.append(f"{e.label} [{index}] {text!r}")
    assert not wrong, f"placeholders differ in {language}: {wrong}"


NORWEGIAN_SOURCE_TERMS = ("Aktiver ePortal", "ePortal tjenester", "ePortal delegerer")


def test_english_translates_the_norwegian_product_terms():
    entries = load("en")
    with_terms = [e for e in entries if any(t in e.msgid for t in NORWEGIAN_SOURCE_TERMS)]
    assert len(with_terms) >= 3
    for e in with_terms:
        assert e.msgstr[0], f"no English for {e.label}"
        assert not any(t in e.msgstr[0] for t in NORWEGIAN_SOURCE_TERMS), e.label
    # Everything else is English already: an msgstr there would only shadow Django's own.
    assert all(not e.msgstr[0] for e in entries if e not in with_terms)


def test_the_terms_are_right():
    for language, msgid, expected in [
        ("en", "Aktiver ePortal", "Enable ePortal"),
        ("en", "ePortal tjenester", "ePortal services"),
        ("en", "ePortal delegerer", "ePortal delegation"),
        ("nb", "Aktiver ePortal", "Aktiver ePortal"),
        ("nb", "We could not find that clinic", "Vi fant ikke legekontoret"),
        ("nn", "We could not find that clinic", "Vi fann ikkje legekontoret"),
        ("nb", "National identity number (11 digits)", "Fødselsnummer (11 siffer)"),
        ("nb", "Sign In", "Logg inn"),  # django-allauth, overridden in nb
        ("nn", "Sign In", "Logg inn"),  # django-allauth has no nn catalogue of its own
        ("nn", "Forgot your password?", "Gløymt passordet?"),
    ]:
        with translation.override(language):
            assert translation.gettext(msgid) == expected, (language, msgid)


def test_plural_forms():
    with translation.override("nb"):
        one = translation.ngettext(
            "Wrong code. You have %(count)d try left.",
            "Wrong code. You have %(count)d tries left.",
            1,
        )
        assert one % {"count": 1} == "Feil kode. Du har 1 forsøk igjen."
    with translation.override("nn"):
        # Django 5.2's own nn catalogue lacks this password-validator message.
        many = translation.ngettext(
            "This password is too short. It must contain at least %d character.",
            "This password is too short. It must contain at least %d characters.",
            10,
        )
        assert many % 10 == "Passordet er for kort. Det må ha minst 10 teikn."


# Pages


class _VisibleText(HTMLParser):
    """The text a user sees or hears: text nodes and the labelling attributes."""

    ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [values[a] or "" for a in self.ATTRIBUTES if values.get(a)]
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible(html: str) -> tuple[str | None, str]:
    parser = _VisibleText()
    parser.feed(html)
    # The clinic's name is data, not UI text; so are the language names on the switch.
    text = " | ".join(parser.parts).replace(CLINIC_NAME, "[[name]]")
    for name in ("Bokmål", "Nynorsk", "English"):
        text = text.replace(name, "[[language]]")
    return parser.lang, text


# Words that give away UI text of the wrong language.
NOT_IN_ENGLISH = [
    "Logg inn",
    "legekontor",
    "Velkommen",
    "Velkomen",
    "fødselsnummer",
    "passord",
    "ikke",
    "ikkje",
    "Språk",
    "Ring ",
    "Bestill",
    "Tilbake",
]
NOT_IN_NORWEGIAN = [
    "Log in",
    "Sign In",
    "Welcome",
    "Password",
    "password",
    "Skip to main content",
    "emergency",
    "clinic",
    "Language",
    "Forgot",
    "Email",
    "Back to",
]
BOKMAL_ONLY = ["ikke", "Velkommen", "Hvis", "hvis", "Glemt", "glemt", "hovedinnhold"]

PAGES = {
    # name: (url, status, {language: phrase})
    "front page": (
        "/",
        200,
        {
            "nb": "Selvbetjening for pasienter",
            "nn": "Sjølvbetening for pasientar",
            "en": "Patient self-service",
        },
    ),
    "clinic start page": (
        "/c/I18N1/",
        200,
        {
            "nb": "Velkommen til [[name]]",
            "nn": "Velkomen til [[name]]",
            "en": "Welcome to [[name]]",
        },
    ),
    "login page": (
        "/c/I18N1/login/",
        200,
        {
            "nb": "Ny bruker eller glemt passord?",
            "nn": "Ny brukar eller gløymt passord?",
            "en": "New user or forgotten password?",
        },
    ),
    "password page": (
        "/c/I18N1/password/",
        200,
        {
            "nb": "Skriv inn fødselsnummeret ditt.",
            "nn": "Skriv inn fødselsnummeret ditt.",
            "en": "Enter your national identity number.",
        },
    ),
    "unknown clinic": (
        "/Login.aspx?ClinicId=NOPE",
        404,
        {
            "nb": "Vi fant ikke legekontoret",
            "nn": "Vi fann ikkje legekontoret",
            "en": "We could not find that clinic",
        },
    ),
    "page not found": (
        "/no-such-page/",
        404,
        {"nb": "Fant ikke siden", "nn": "Fann ikkje sida", "en": "Page not found"},
    ),
    "staff login": (
        "/accounts/login/",
        200,
        {"nb": "Glemt passordet?", "nn": "Gløymt passordet?", "en": "Forgot your password?"},
    ),
    "staff password reset": (
        "/accounts/password/reset/",
        200,
        {
            "nb": "Tilbakestill passordet",
            "nn": "Tilbakestill passordet",
            "en": "Reset My Password",
        },
    ),
}


@pytest.fixture
def i18n_clinic(db):
    return factories.make_clinic("I18N1", name=CLINIC_NAME, address="Storgata 1, 0155 Oslo")


def get(client, url: str, language: str | None):
    if language is not None:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(url)


def check_language(text: str, language: str) -> None:
    if language == "en":
        leaked = [w for w in NOT_IN_ENGLISH if w.lower() in text.lower()]
    else:
        leaked = [w for w in NOT_IN_NORWEGIAN if w in text]
        if language == "nn":
            leaked += [w for w in BOKMAL_ONLY if w in text]
    assert not leaked, f"{language} page shows {leaked}: {text}"


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
@pytest.mark.parametrize("page", list(PAGES))
def test_page_speaks_the_chosen_language(client, i18n_clinic, page, language):
    url, status, phrases = PAGES[page]
    response = get(client, url, language)
    assert response.status_code == status
    lang, text = visible(response.content.decode())
    assert lang == language
    assert response["Content-Language"] == language
    assert phrases[language] in text, text
    check_language(text, language)


PATIENT_PAGES = {
    "home page": (
        "/c/I18N1/home/",
        {
            "nb": "Dette kan du gjøre her",
            "nn": "Dette kan du gjere her",
            "en": "What you can do here",
        },
    ),
    "booking": (
        "/c/I18N1/timer/",
        {
            "nb": "Legekontoret tilbyr deg ikke timebestilling på nett",
            "nn": "Legekontoret tilbyr deg ikkje timebestilling på nett",
            "en": "The clinic offers no online booking to you at the moment.",
        },
    ),
    "my appointments": (
        "/c/I18N1/mine-timer/",
        {
            "nb": "Du har ingen kommende timer.",
            "nn": "Du har ingen komande timar.",
            "en": "You have no upcoming appointments.",
        },
    ),
    "urgent appointment": (
        "/c/I18N1/hastetime/",
        {
            "nb": "Legekontoret tilbyr deg ikke hastetimer på nett.",
            "nn": "Legekontoret tilbyr deg ikkje hastetimar på nett.",
            "en": "The clinic offers no urgent appointments online to you.",
        },
    ),
}
PATIENT_NAV = {"nb": "Dine sider", "nn": "Sidene dine", "en": "Your pages"}


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
@pytest.mark.parametrize("page", list(PATIENT_PAGES))
def test_patient_page_speaks_the_chosen_language(patient_client_for, i18n_clinic, page, language):
    patient = factories.make_patient(i18n_clinic, name="Kari Testesen")
    client = patient_client_for(patient)
    url, phrases = PATIENT_PAGES[page]
    response = get(client, url, language)
    assert response.status_code == 200
    lang, text = visible(response.content.decode())
    text = text.replace(patient.name, "[[patient]]")
    assert lang == language
    assert phrases[language] in text, text
    assert PATIENT_NAV[language] in text
    check_language(text, language)


def test_bokmal_is_the_default_whatever_the_browser_asks(client, i18n_clinic):
    response = client.get("/c/I18N1/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    lang, text = visible(response.content.decode())
    assert lang == "nb"
    assert "Velkommen til [[name]]" in text


def test_the_language_switch_sets_the_language(client, i18n_clinic):
    response = client.post("/i18n/setlang/", {"language": "nn", "next": "/c/I18N1/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nn"
    lang, text = visible(client.get("/c/I18N1/").content.decode())
    assert lang == "nn"
    assert "Velkomen til [[name]]" in text


@pytest.mark.parametrize(
    "language, phrases",
    [
        ("nb", ["Aktiver ePortal", "Kopier lenken", "Gå til hovedinnholdet"]),
        ("nn", ["Aktiver ePortal", "Kopier lenka", "Gå til hovudinnhaldet", "Velkomen,"]),
        ("en", ["Enable ePortal", "Copy link", "Eportal services", "Eportal delegation"]),
    ],
)
def test_admin_pages_speak_the_chosen_language(client, i18n_clinic, language, phrases):
    staff = factories.make_staff(i18n_clinic)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    response = get(client, "/admin/clinics/clinicactivation/", language)
    assert response.status_code == 200
    lang, text = visible(response.content.decode())
    assert lang == language
    for phrase in phrases:
        assert phrase.lower() in text.lower(), (phrase, text)
    if language == "en":
        assert not any(term.lower() in text.lower() for term in NORWEGIAN_SOURCE_TERMS), text


@pytest.mark.parametrize(
    "language, phrase",
    [("nb", "Noe gikk galt"), ("nn", "Noko gjekk gale"), ("en", "Something went wrong")],
)
def test_server_error_page_speaks_the_language(language, phrase):
    with translation.override(language):
        lang, text = visible(render_to_string("500.html"))
    assert lang == language
    assert phrase in text
    assert "113" in text


@pytest.mark.parametrize(
    "language, phrase",
    [("nb", "For mange forsøk"), ("nn", "For mange forsøk"), ("en", "Too many attempts")],
)
def test_rate_limit_page_speaks_the_language(rf, language, phrase):
    request = rf.get("/accounts/password/reset/")
    request.user = AnonymousUser()
    with translation.override(language):
        lang, text = visible(render_to_string("429.html", request=request))
    assert lang == language
    assert phrase in text
    check_language(text, language)
