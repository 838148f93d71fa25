"""Nothing typed into an admin address answers 500, on every ModelAdmin in ``admin.site``.

Ours and the third-party ones (auth, sites, allauth) alike: huge and odd values in date,
datetime and integer lookups, in ``date_hierarchy`` parameters, in the page, ordering and
search parameters, and in the ids of change, history and delete URLs. The errors surface in
different places on SQLite (binding a 20-digit int) and on PostgreSQL (NUL in a string, dates
beyond the year 9999), so this runs on both.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.urls import NoReverseMatch, reverse

from clinics.demo import DEMO_ADMIN_EMAIL
from clinics.models import User

pytestmark = [
    pytest.mark.django_db,
    # Django's own warning for "0001-01-01" in a datetime lookup: it is what the test sends.
    pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime"),
]

HUGE = "9" * 20  # beyond a C int, int64 and PostgreSQL's bigint
NUMBERS = [HUGE, "-" + HUGE]
DATE_PARTS = [HUGE, "10000"]
# Beyond the last date, before the first one in UTC (Oslo is ahead), not a date at all.
DATES = [HUGE, "9999-12-31 23:59:59", "0001-01-01", "a\x00"]
PERSONAS = ["superuser", "clinic_administrator"]
REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
IDS = [model._meta.label_lower for model, _model_admin in REGISTERED]


@pytest.fixture
def user_for(request, db):
    """The demo clinic with its slots and appointments, and a staff user to look at it."""
    call_command("loaddemo", stdout=io.StringIO())

    def user(persona: str) -> User:
        if persona == "superuser":
            return request.getfixturevalue("superuser")
        return User.objects.get(email=DEMO_ADMIN_EMAIL)

    return user


def _odd_queries(model: type[models.Model], model_admin: admin.ModelAdmin) -> Iterator[dict]:
    yield from [
        {"p": HUGE},
        {"p": HUGE, "all": ""},
        {"o": f"1.-{HUGE}.x"},
        {"q": "\x00"},
        {"q": HUGE},
        {"q": "x\x00", "_facets": "1"},
        {"e": "1", "id__gte": HUGE},
    ]
    for field in model._meta.concrete_fields:
        name = field.name
        if isinstance(field, models.DateField):  # DateTimeField too
            for part in ("year", "month", "day"):
                for value in DATE_PARTS:
                    yield {f"{name}__{part}": value}
            for lookup in ("gte", "lt"):
                for value in DATES:
                    yield {f"{name}__{lookup}": value}
        elif isinstance(field.target_field if field.is_relation else field, models.IntegerField):
            for lookup in ("exact", "gte"):
                for value in NUMBERS:
                    yield {f"{field.attname}__{lookup}": value}
    if model_admin.date_hierarchy:
        year, month, day = (f"{model_admin.date_hierarchy}__{p}" for p in ("year", "month", "day"))
        yield from [
            {year: HUGE},
            {year: "0"},
            {year: "1"},
            {year: "1", month: "1"},
            {year: "1", month: "1", day: "1"},
            {year: "9999"},
            {year: "9999", month: "12"},
            {year: "9999", month: "12", day: "31"},
            {year: "2026", month: HUGE},
            {year: "2026", month: "1", day: HUGE},
            {month: HUGE},
            {day: HUGE},
        ]


def _server_errors(client, url: str, queries: Iterator[dict]) -> list[tuple]:
    client.raise_request_exception = False  # collect every failure, not only the first
    failures = []
    for query in queries:
        status = client.get(url, query).status_code
        if status >= 500:
            failures.append((url, query, status))
    return failures


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=IDS)
def test_odd_changelist_parameters_never_answer_500(
    admin_client_for, user_for, persona, model, model_admin
):
    client = admin_client_for(user_for(persona))
    info = model._meta.app_label, model._meta.model_name
    url = reverse("admin:{}_{}_changelist".format(*info))
    assert not _server_errors(client, url, _odd_queries(model, model_admin))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=IDS)
def test_odd_ids_in_change_urls_never_answer_500(
    admin_client_for, user_for, persona, model, model_admin
):
    client = admin_client_for(user_for(persona))
    client.raise_request_exception = False
    info = model._meta.app_label, model._meta.model_name
    failures = []
    for view in ("change", "history", "delete"):
        for object_id in (HUGE, "-" + HUGE, "9223372036854775808", "²", "a\x00"):
            try:
                url = reverse("admin:{}_{}_{}".format(*info, view), args=[object_id])
            except NoReverseMatch:
                continue  # an admin page of its own (the activation page, the matrix)
            for response in (client.get(url), client.post(url, {"post": "yes"})):
                if response.status_code >= 500:
                    failures.append((view, object_id, response.status_code))
    assert not failures


AUTOCOMPLETE = {"app_label": "booking", "model_name": "slot", "field_name": "practitioner"}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"/admin/r/{HUGE}/1/", {}),
        (f"/admin/r/1/{HUGE}/", {}),
        ("/admin/r/1/a%00/", {}),
        (f"/admin/booking/slot/{HUGE}/", {}),
        ("/admin/autocomplete/", {**AUTOCOMPLETE, "term": "a\x00"}),  # PostgreSQL: DataError
        ("/admin/autocomplete/", {**AUTOCOMPLETE, "term": "a", "page": HUGE}),
    ],
)
def test_odd_site_wide_admin_urls_never_answer_500(
    admin_client_for, user_for, persona, path, query
):
    client = admin_client_for(user_for(persona))
    client.raise_request_exception = False
    assert client.get(path, query).status_code < 500


def test_a_year_beyond_any_date_sends_the_changelist_back_unfiltered(admin_client_for, user_for):
    client = admin_client_for(user_for("clinic_administrator"))
    url = reverse("admin:booking_slot_changelist")
    for query in ({"start__year": HUGE}, {"start__year": "9999", "start__month": "12"}):
        response = client.get(url, query)
        assert response.status_code == 302, query
        assert response.url == f"{url}?e=1"
        assert client.get(response.url).status_code == 200


def test_a_value_out_of_range_after_the_redirect_is_a_bad_request(admin_client_for, user_for):
    client = admin_client_for(user_for("superuser"))
    url = reverse("admin:clinics_auditevent_changelist")
    assert client.get(url, {"created__year": HUGE, "e": "1"}).status_code == 400
