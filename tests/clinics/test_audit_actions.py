"""The audit log in words (issue #16, item 3): every action recorded anywhere has a label,
times are on the clinic's clock, and the count says "events"."""

from __future__ import annotations

import ast
import datetime
import re
from pathlib import Path

import pytest
from django.utils import translation

from clinics import audit
from clinics.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "clinics",
    "identification",
    "delegation",
    "booking",
    "econsult",
    "sms",
    "ops",
    "eportal",
    "fhirapi",
)
ACTION = re.compile(r"^[a-z]+\.[a-z_]+$")


def _strings(node: ast.AST) -> list[str]:
    """The string constants an expression can evaluate to (a constant or a conditional)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def recorded_actions() -> set[str]:
    """Every action string the code can pass to ``audit.record``: first arguments of
    ``record(...)`` and of booking's ``.audit(...)``, values given to the names that carry
    an action on (``action``, ``audit_action``, ``audit_read_action``), and the reasons
    ``end_patient_session`` turns into ``patient.<reason>``. A first argument of another
    form fails the test: teach it here, then give the action its words."""
    found: set[str] = set()
    carriers = {"action", "audit_action", "audit_read_action"}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    owner = getattr(getattr(func, "value", None), "id", "")
                    if (name == "record" and owner == "audit") or (name == "audit" and node.args):
                        first = node.args[0] if node.args else None
                        if first is None:
                            continue
                        strings = _strings(first)
                        if strings:
                            found.update(strings)
                        elif isinstance(first, ast.Name) and first.id in carriers:
                            pass  # its values are collected where they are assigned
                        elif isinstance(first, ast.Attribute) and first.attr in carriers:
                            pass
                        elif isinstance(first, ast.JoinedStr) and path.name == "session.py":
                            pass  # f"patient.{reason}": the reasons, below
                        else:
                            raise AssertionError(
                                f"{path}:{node.lineno}: an audit action this test cannot read"
                            )
                    if name == "end_patient_session":
                        for keyword in node.keywords:
                            if keyword.arg == "reason":
                                found.update(f"patient.{r}" for r in _strings(keyword.value))
                    for keyword in node.keywords:
                        if keyword.arg in carriers:
                            found.update(_strings(keyword.value))
                elif isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names = {getattr(t, "id", getattr(t, "attr", "")) for t in targets}
                    if names & carriers and node.value is not None:
                        found.update(_strings(node.value))
                elif isinstance(node, ast.FunctionDef):
                    arguments = node.args.args + node.args.kwonlyargs
                    defaults = [None] * (len(node.args.args) - len(node.args.defaults))
                    defaults += node.args.defaults + node.args.kw_defaults
                    for argument, default in zip(arguments, defaults, strict=False):
                        if argument.arg in carriers and default is not None:
                            found.update(_strings(default))
    return {action for action in found if ACTION.match(action)}


def test_the_scan_finds_the_actions_it_should():
    actions = recorded_actions()
    for known in (
        "booking.book",
        "delegation.matrix_save",
        "econsult.booking_offered",
        "econsult.answered",
        "patient.timeout",
        "patient.read",
        "sms.outbox_viewed",
    ):
        assert known in actions


def test_every_recorded_action_has_words():
    missing = recorded_actions() - set(audit.ACTION_LABELS)
    assert not missing, f"audit actions without a label in clinics.audit.ACTION_LABELS: {missing}"


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_every_label_is_words_not_a_code(language):
    with translation.override(language):
        for action, label in audit.ACTION_LABELS.items():
            assert str(label) and str(label) != action


@pytest.mark.django_db
def test_the_audit_log_shows_actions_in_words(admin_client_for, clinic_admin, clinic):
    audit.record("delegation.matrix_save", clinic=clinic)
    client = admin_client_for(clinic_admin)
    client.cookies["eportal_language"] = "en"
    body = client.get("/admin/clinics/auditevent/").content.decode()
    assert "Service matrix saved" in body
    assert ">delegation.matrix_save<" not in body
    # The filter offers the words too, and keeps the code in its link.
    assert "?action=delegation.matrix_save" in body


@pytest.mark.django_db
def test_the_count_says_events(admin_client_for, clinic_admin, clinic):
    for _ in range(3):
        audit.record("patient.login", clinic=clinic)
    client = admin_client_for(clinic_admin)
    client.cookies["eportal_language"] = "en"
    body = client.get("/admin/clinics/auditevent/").content.decode()
    assert re.search(r"\b3 events\b", body)
    assert "3 audit log" not in body


@pytest.mark.django_db
def test_appointment_times_in_the_object_column_are_on_the_clinics_clock(clinic):
    from booking.models import Appointment
    from tests.factories import build_booking_world

    w = build_booking_world(clinic)
    start = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=datetime.UTC)  # 10:00 in Oslo (summer)
    appointment = Appointment(
        patient=w.patient,
        practitioner=w.gp,
        start=start,
        end=start + datetime.timedelta(minutes=20),
        reason="x",
    )
    assert "2026-06-01 10:00" in str(appointment)
    event = AuditEvent(action="booking.book", created=start)
    assert str(event).startswith("2026-06-01 10:00")
