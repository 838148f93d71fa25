"""Small builders for test data. Identity numbers are synthetic (month + 80)."""

from __future__ import annotations

import datetime
import itertools

from clinics.models import Clinic, Patient, PatientList, Practitioner, User
from clinics.national_id import make as make_national_id

_counter = itertools.count(1)


def national_id(kind: str = "fnr", year: int = 1985) -> str:
    """A fresh, valid synthetic identity number."""
    n = next(_counter)
    birth = datetime.date(year, (n % 12) + 1, (n % 28) + 1)
    return make_national_id(birth, individual=100 + (n * 7) % 390, kind=kind, synthetic=True)


def make_clinic(ep_ident: str | None = None, **fields: object) -> Clinic:
    n = next(_counter)
    return Clinic.objects.create(
        ep_ident=ep_ident or f"CLINIC{n}",
        name=fields.pop("name", f"Legekontor {n}"),
        phone=fields.pop("phone", "+4722000000"),
        **fields,
    )


def make_practitioner(clinic: Clinic, name: str | None = None, **fields: object) -> Practitioner:
    n = next(_counter)
    return Practitioner.objects.create(clinic=clinic, name=name or f"Lege {n}", **fields)


def make_list(clinic: Clinic, gp: Practitioner | None = None, **fields: object) -> PatientList:
    n = next(_counter)
    return PatientList.objects.create(
        clinic=clinic, gp=gp, name=fields.pop("name", f"Liste {n}"), **fields
    )


def make_patient(clinic: Clinic, **fields: object) -> Patient:
    n = next(_counter)
    fields.setdefault("national_id", national_id())
    fields.setdefault("name", f"Pasient {n}")
    fields.setdefault("mobile", f"+47400{n:05d}")
    return Patient.objects.create(clinic=clinic, **fields)


def make_staff(clinic: Clinic | None, email: str | None = None, **fields: object) -> User:
    n = next(_counter)
    return User.objects.create_user(
        email=email or f"admin{n}@example.org",
        password=fields.pop("password", "correct-horse-battery"),
        clinic=clinic,
        is_staff=True,
        **fields,
    )
