"""The demo clinic (EP identifier DEMO) for ``make run``, screenshots and trying things out.

Built as an exchange-format document and loaded through the ordinary import, so the demo also
exercises the import. All identity numbers are synthetic (month + 80).
"""

from __future__ import annotations

import datetime
from typing import Any

from . import national_id

DEMO_ADMIN_EMAIL = "admin@demo.eportal.invalid"
DEMO_ADMIN_PASSWORD = "demo-admin-passord"  # noqa: S105 - a published demo login
#: A GP's staff login: the eConsultation inbox of Dr. Kari Nordmann (same password).
DEMO_GP_EMAIL = "lege@demo.eportal.invalid"
DEMO_GP_PRACTITIONER = "p-nordmann"


def _id(year: int, month: int, day: int, serial: int = 100, kind: str = "fnr") -> str:
    return national_id.make(datetime.date(year, month, day), serial, kind=kind, synthetic=True)


DEMO_PATIENTS = [
    # (name, identity number, mobile, active record, list)
    ("Kari Testesen", _id(1985, 3, 14), "+4741234567", True, "list-nordmann"),
    ("Ola Prøvesen", _id(1972, 11, 2, 200), "+4792345678", True, "list-nordmann"),
    ("Ingrid Eksempel", _id(1990, 6, 21, 300), "+4748765432", True, "list-hansen"),
    ("Per Uten Fastlege", _id(1968, 1, 30, 400), "+4790011223", True, None),
    ("Siri Utenmobil", _id(1995, 9, 9, 150), None, True, "list-hansen"),
    ("Nils Inaktiv", _id(1959, 4, 5, 250), "+4795544332", False, "list-nordmann"),
    ("Dina D-nummer", _id(1988, 8, 18, 120, kind="dnr"), "+4746655443", True, "list-hansen"),
]


def _template(practitioner: str, rules: list[tuple[int, str, str, str]]) -> dict[str, Any]:
    """A weekly template valid from a fixed Monday (a stable document), 20-minute slots."""
    return {
        "practitioner": practitioner,
        "valid_from": "2026-01-05",
        "valid_to": None,
        "rules": [
            {
                "weekday": day,
                "start": start,
                "end": end,
                "slot_minutes": 20,
                "appointment_type": kind,
            }
            for day, start, end, kind in sorted(rules)
        ],
    }


def demo_document() -> dict[str, Any]:
    return {
        "format": "eportal-clinic/1",
        "clinic": {
            "ep_ident": "DEMO",
            "name": "Demo legekontor",
            "address": "Storgata 1, 0155 Oslo",
            "phone": "+4722000000",
            "website": "https://demo.eportal.invalid/",
            "active": True,
            "login_methods": ["bankid", "sms"],
        },
        "practitioners": [
            {
                "key": "p-nordmann",
                "name": "Kari Nordmann",
                "role": "gp",
                "hpr": "9100001",
                "eportal_enabled": True,
            },
            {
                "key": "p-hansen",
                "name": "Per Hansen",
                "role": "gp",
                "hpr": "9100002",
                "eportal_enabled": True,
            },
            {
                "key": "p-vikar",
                "name": "Vera Vikar",
                "role": "locum",
                "hpr": "9100003",
                "eportal_enabled": True,
            },
            {
                "key": "p-turnus",
                "name": "Tore Turnus",
                "role": "junior",
                "hpr": "9100004",
                "eportal_enabled": True,
            },
            {
                "key": "p-sykepleier",
                "name": "Siv Sykepleier",
                "role": "nurse",
                "hpr": None,
                "eportal_enabled": False,
            },
        ],
        "patient_lists": [
            {"key": "list-nordmann", "name": "Liste Kari Nordmann", "gp": "p-nordmann"},
            {"key": "list-hansen", "name": "Liste Per Hansen", "gp": "p-hansen"},
        ],
        "patients": [
            {
                "national_id": nid,
                "name": name,
                "mobile": mobile,
                "journal_active": active,
                "patient_list": plist,
            }
            for name, nid, mobile, active, plist in DEMO_PATIENTS
        ],
        # The leaflet's example: patients may book both the locum and their own GP; the junior
        # doctor handles all urgent same-day appointments and all requests from patients
        # without a GP at the clinic.
        "appointment_types": [
            {"key": "ep", "name": "ePortal", "minutes": 20, "colour": "#0d6efd", "online": True},
            {
                "key": "kontroll",
                "name": "Kontroll",
                "minutes": 20,
                "colour": "#6c757d",
                "online": False,
            },
        ],
        "schedule_templates": [
            _template(
                "p-hansen",
                [(d, "08:00", "11:00", "ep") for d in (1, 2, 3, 4, 5)]
                + [(d, "12:00", "15:00", "kontroll") for d in (1, 2, 3, 4, 5)],
            ),
            _template(
                "p-nordmann",
                [(d, "08:00", "11:00", "ep") for d in (1, 2, 3, 4, 5)]
                + [(d, "12:00", "15:00", "kontroll") for d in (1, 2, 3, 4)],
            ),
            _template("p-turnus", [(d, "08:00", "15:40", "ep") for d in (1, 2, 3, 4, 5)]),
            _template("p-vikar", [(d, "09:00", "14:00", "ep") for d in (2, 4)]),
        ],
        "service_matrix": [
            {
                "service": "booking",
                "patient_list": "list-hansen",
                "practitioners": ["p-hansen", "p-vikar"],
            },
            {
                "service": "booking",
                "patient_list": "list-nordmann",
                "practitioners": ["p-nordmann", "p-vikar"],
            },
            {"service": "booking", "patient_list": None, "practitioners": ["p-turnus"]},
            {"service": "urgent", "patient_list": "list-hansen", "practitioners": ["p-turnus"]},
            {"service": "urgent", "patient_list": "list-nordmann", "practitioners": ["p-turnus"]},
            {"service": "urgent", "patient_list": None, "practitioners": ["p-turnus"]},
            {"service": "econsult", "patient_list": "list-hansen", "practitioners": ["p-hansen"]},
            {
                "service": "econsult",
                "patient_list": "list-nordmann",
                "practitioners": ["p-nordmann"],
            },
            {"service": "econsult", "patient_list": None, "practitioners": ["p-turnus"]},
        ],
    }
