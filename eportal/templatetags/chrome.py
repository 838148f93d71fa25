"""The page chrome every page renders: the patient's header links and the language switch.

They are on every page, so they are built here in Python from pieces formatted once per
language and URL, instead of by some forty template nodes per request (about a fifth of a
simple page's time). The HTML is what ``templates/base.html`` had; every value that comes
from the request or the database is escaped.
"""

from __future__ import annotations

import functools
from html import escape
from typing import Any

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from clinics.urlcache import cached_reverse
from identification.session import SESSION_MAY_CHOOSE, acting_actor, is_acting

register = template.Library()

# The language names as each language calls itself (the buttons carry lang="…").
_NATIVE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}


def _csrf_input(context: template.Context) -> str:
    # What {% csrf_token %} renders; the lazy token is computed once per request.
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":  # noqa: S105 - Django's marker, not a secret
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(token))}">'


@functools.lru_cache(maxsize=16)
def _language_buttons(current: str | None) -> str:
    buttons = []
    for code, name in settings.LANGUAGES:
        state = (
            ("btn-dark", ' aria-current="true"') if code == current else ("btn-outline-dark", "")
        )
        buttons.append(
            f'<button type="submit" name="language" value="{code}" lang="{code}" '
            f'class="btn btn-sm {state[0]}"{state[1]}>{_NATIVE_NAMES.get(code, name)}</button>'
        )
    label = escape(gettext("Language"))
    return f'<span class="visually-hidden">{label}:</span>' + "".join(buttons)


@register.simple_tag(takes_context=True)
def language_switch(context: template.Context) -> SafeString:
    """The language buttons: a POST to ``set_language`` that comes back to this page."""
    request = context.get("request")
    here = request.get_full_path() if request is not None else "/"
    return mark_safe(  # noqa: S308  # nosec B308 B703 - every value is escaped
        f'<form class="language-switch d-flex gap-1" action="{cached_reverse("set_language")}" '
        f'method="post">{_csrf_input(context)}'
        f'<input type="hidden" name="next" value="{escape(here)}">'
        f"{_language_buttons(translation.get_language())}</form>"
    )


@functools.lru_cache(maxsize=64)
def _patient_links(
    language: str | None, ep_ident: str, prefix: str
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The nav label and the patient's own pages, linked from every page's header (the
    script prefix is part of the key, as in cached_reverse)."""
    pages = (
        (gettext("Home"), cached_reverse("identification:home", ep_ident)),
        (gettext("My appointments"), cached_reverse("booking:mine", ep_ident)),
        (gettext("My messages"), cached_reverse("econsult:mine", ep_ident)),
    )
    return gettext("Your pages"), tuple((escape(label), escape(url)) for label, url in pages)


@register.simple_tag(takes_context=True)
def patient_header(context: template.Context) -> SafeString:
    """The logged-in patient's links, name and logout button, and "Switch person" for a
    patient who may act for others; nothing for anyone else. The name is the logged-in
    patient's own, also while they act for someone (the banner says whom: acting_banner)."""
    request = context.get("request")
    patient = acting_actor(request) if request is not None else None
    if patient is None or request is None:
        return SafeString("")  # not SafeString(): bandit cannot scan a call with no argument
    ep_ident = patient.clinic.ep_ident
    nav_label, links = _patient_links(translation.get_language(), ep_ident, get_script_prefix())
    items = []
    for label, url in links:
        bold, current = (" fw-bold", ' aria-current="page"') if request.path == url else ("", "")
        items.append(
            f'<li class="nav-item"><a class="nav-link px-2{bold}" href="{url}"{current}>'
            f"{label}</a></li>"
        )
    if is_acting(request) or request.session.get(SESSION_MAY_CHOOSE):
        url = escape(cached_reverse("identification:choose", ep_ident))
        current = ' aria-current="page"' if request.path == url else ""
        items.append(
            f'<li class="nav-item"><a class="nav-link px-2" href="{url}"{current}>'
            f"{escape(gettext('Switch person'))}</a></li>"
        )
    logout = escape(cached_reverse("identification:logout", ep_ident))
    return mark_safe(  # noqa: S308  # nosec B308 B703 - every value is escaped
        f'<nav aria-label="{escape(nav_label)}"><ul class="nav">{"".join(items)}</ul></nav>'
        f'<span class="small">{escape(patient.name)}</span>'
        f'<form method="post" action="{logout}">{_csrf_input(context)}'
        f'<button type="submit" class="btn btn-sm btn-outline-dark">{escape(gettext("Log out"))}'
        "</button></form>"
    )


@register.simple_tag(takes_context=True)
def acting_banner(context: template.Context) -> SafeString:
    """While the logged-in patient acts for someone else, on every page, first in ``main``:
    whom they act for, and a link to switch. Plain text in a bordered box, not a live
    region (it would be announced on every page); the skip link lands on it first
    (docs/acting-for-others.md)."""
    request = context.get("request")
    if request is None or not is_acting(request):
        return SafeString("")  # not SafeString(): bandit cannot scan a call with no argument
    subject = request.patient
    url = escape(cached_reverse("identification:choose", subject.clinic.ep_ident))
    name = f"<strong>{escape(subject.name)}</strong>"
    text = escape(gettext("You are acting on behalf of %(name)s.")) % {"name": name}
    return mark_safe(  # noqa: S308  # nosec B308 B703 - every value is escaped
        f'<div class="acting-banner alert alert-warning d-flex flex-wrap gap-2 '
        f'align-items-center justify-content-between" data-acting-for="{subject.pk}">'
        f'<p class="m-0">{text}</p>'
        f'<a class="acting-switch" href="{url}">{escape(gettext("Switch person"))}</a></div>'
    )


@functools.lru_cache(maxsize=256)
def _asset(path: str) -> str:
    return static(path)


@register.simple_tag
def asset(path: str) -> str:
    """``{% static %}``, looked up once per file: the manifest does not change while the
    process runs."""
    return _asset(path)


@register.simple_tag
def link(name: str, *args: Any) -> str:
    """``{% url name arg … %}`` for URLs that take plain values, reversed once per URL."""
    return cached_reverse(name, *(str(arg) for arg in args))
