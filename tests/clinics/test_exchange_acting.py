"""The exchange format's relations (docs/import-format.md, "Acting for others"): parents and
children, powers of attorney and the confidential address; validated by place, round trip."""

from __future__ import annotations

import copy
import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from clinics.demo import demo_document
from clinics.exchange import ImportFailed, dumps, export_clinic, import_clinic
from clinics.models import Clinic, ParentChild, Patient, PowerOfAttorney
from clinics.national_id import birthday
from clinics.national_id import make as make_national_id

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
CHILD = make_national_id(birthday(TODAY, -5), 310)
TEEN = make_national_id(birthday(TODAY, -15), 320)  # 15: may not give a power of attorney
YOUNG = make_national_id(birthday(TODAY, -17), 330)  # 17: may not hold one
D_CHILD = make_national_id(birthday(TODAY, -8), 340, kind="dnr")


def patient(national_id: str, name: str, **fields) -> dict:
    return {
        "national_id": national_id,
        "name": name,
        "mobile": None,
        "journal_active": True,
        "patient_list": None,
        **fields,
    }


def document() -> dict:
    data = copy.deepcopy(demo_document())
    kari, ola, ingrid = (p["national_id"] for p in data["patients"][:3])
    data["patients"] += [
        patient(CHILD, "Barn Testesen"),
        patient(TEEN, "Ungdom Testesen"),
        patient(YOUNG, "Ung Voksen"),
        patient(D_CHILD, "Barn D-nummer"),
    ]
    data["parent_child"] = [
        {"parent": kari, "child": CHILD, "same_address": True, "parental_responsibility": True},
        {"parent": ola, "child": CHILD, "same_address": False, "parental_responsibility": True},
        {"parent": kari, "child": D_CHILD, "same_address": True, "parental_responsibility": True},
    ]
    data["powers_of_attorney"] = [
        {
            "giver": ola,
            "holder": ingrid,
            "valid_from": "2026-01-01",
            "valid_to": None,
            "services": ["booking", "renewal"],
            "source": "import",
        },
        {
            "giver": ingrid,
            "holder": kari,
            "valid_from": "2026-02-01",
            "valid_to": "2026-12-31",
            "services": ["econsult"],
            "source": "portal",
        },
    ]
    return data


def export_text() -> str:
    out = io.StringIO()
    call_command("export_clinic", "DEMO", stdout=out)
    return out.getvalue()


def test_relations_and_the_confidential_address_are_imported():
    data = document()
    data["patients"][4]["confidential_address"] = True  # Siri: no relations
    import_clinic(data)
    kari = Patient.objects.get(name="Kari Testesen")
    link = ParentChild.objects.get(parent=kari, child__name="Barn Testesen")
    assert link.same_address and link.parental_responsibility
    assert ParentChild.objects.count() == 3
    imported = PowerOfAttorney.objects.get(giver__name="Ola Prøvesen")
    assert imported.holder.name == "Ingrid Eksempel"
    assert imported.services == ("booking", "renewal")
    assert imported.valid_to is None and imported.source == "import"
    assert PowerOfAttorney.objects.get(holder=kari).source == "portal"
    assert Patient.objects.get(name="Siri Utenmobil").confidential_address
    assert not kari.confidential_address


def test_the_export_round_trips_byte_for_byte(tmp_path):
    data = document()
    data["patients"][4]["confidential_address"] = True
    import_clinic(data)
    first = export_text()
    exported = export_clinic(Clinic.objects.get())
    assert exported["parent_child"][0].keys() == {
        "parent", "child", "same_address", "parental_responsibility"
    }  # fmt: skip
    assert {a["source"] for a in exported["powers_of_attorney"]} == {"import", "portal"}
    siri = next(p for p in exported["patients"] if p["name"] == "Siri Utenmobil")
    assert siri["confidential_address"] is True
    kari = next(p for p in exported["patients"] if p["name"] == "Kari Testesen")
    assert "confidential_address" not in kari  # left out when false, as before
    # Re-importing the export changes nothing; into an empty database it comes back the same.
    assert import_clinic(exported) == {}
    path = tmp_path / "export.json"
    path.write_text(first, encoding="utf-8")
    Clinic.objects.all().delete()
    call_command("import_clinic", str(path), stdout=io.StringIO())
    assert export_text() == first


def test_the_export_is_independent_of_insertion_order():
    data = document()
    import_clinic(data)
    first = dumps(export_clinic(Clinic.objects.get()))
    Clinic.objects.all().delete()
    data["parent_child"].reverse()
    data["powers_of_attorney"].reverse()
    data["patients"].reverse()
    import_clinic(data)
    assert dumps(export_clinic(Clinic.objects.get())) == first


def test_a_file_without_the_sections_leaves_the_relations_and_exports_empty_lists():
    import_clinic(document())
    data = document()
    del data["parent_child"], data["powers_of_attorney"]
    assert import_clinic(data) == {}
    assert ParentChild.objects.count() == 3
    empty = copy.deepcopy(demo_document())
    Clinic.objects.all().delete()
    import_clinic(empty)
    exported = export_clinic(Clinic.objects.get())
    assert exported["parent_child"] == [] and exported["powers_of_attorney"] == []


def test_a_later_file_removes_links_and_ends_imported_powers_of_attorney_only():
    import_clinic(document())
    data = document()
    data["parent_child"].pop(0)
    data["powers_of_attorney"] = []
    stats = import_clinic(data)
    assert stats["parent-child links removed"] == 1
    assert stats["powers of attorney ended"] == 1
    assert ParentChild.objects.count() == 2
    ended = PowerOfAttorney.objects.get(giver__name="Ola Prøvesen")
    assert ended.ended_at is not None and ended.ended_by is None
    # The one given in the portal is not the journal's to end.
    assert PowerOfAttorney.objects.get(giver__name="Ingrid Eksempel").ended_at is None


def test_a_changed_power_of_attorney_is_updated_in_place():
    import_clinic(document())
    pk = PowerOfAttorney.objects.get(giver__name="Ola Prøvesen").pk
    data = document()
    data["powers_of_attorney"][0].update(valid_to="2027-06-30", services=["econsult"])
    assert import_clinic(data) == {"powers of attorney updated": 1}
    changed = PowerOfAttorney.objects.get(pk=pk)
    assert changed.valid_to == datetime.date(2027, 6, 30)
    assert changed.services == ("econsult",)


def _kari(d):
    return d["patients"][0]["national_id"]


def _ola(d):
    return d["patients"][1]["national_id"]


def _link(d):
    return d["parent_child"][0]


def _poa(d):
    return d["powers_of_attorney"][0]


LINK, POA = "parent_child[0]", "powers_of_attorney[0]"


@pytest.mark.parametrize(
    ("mutate", "place"),
    [
        (lambda d: _link(d).update(child="14838510036"), f"{LINK}.child"),
        (lambda d: _link(d).pop("parent"), f"{LINK}.parent"),
        (lambda d: _link(d).update(child=_kari(d)), f"{LINK}.child"),
        (lambda d: d["parent_child"].append(dict(_link(d))), "parent_child[3]"),
        (lambda d: _link(d).update(same_address="ja"), f"{LINK}.same_address"),
        (lambda d: _link(d).update(address="x"), f"{LINK}.address"),
        (lambda d: _link(d).update(parent=CHILD, child=_kari(d)), f"{LINK}.child"),
        (lambda d: d["patients"][0].update(confidential_address=True), f"{LINK}.parent"),
        (lambda d: d["patients"][7].update(confidential_address=True), f"{LINK}.child"),
        (lambda d: d["patients"][7].update(confidential_address=1), "patients[7].confidential_address"),  # noqa: E501
        (lambda d: d.update(parent_child="many"), "parent_child"),
        (lambda d: d["parent_child"].append("x"), "parent_child[3]"),
        (lambda d: _poa(d).update(holder=_ola(d)), f"{POA}.holder"),
        (lambda d: _poa(d).update(giver="00000000000"), f"{POA}.giver"),
        (lambda d: _poa(d).update(giver=TEEN), f"{POA}.giver"),
        (lambda d: _poa(d).update(holder=YOUNG), f"{POA}.holder"),
        (lambda d: _poa(d).update(valid_to="2025-12-31"), f"{POA}.valid_to"),
        (lambda d: _poa(d).update(valid_to="31.12.2026"), f"{POA}.valid_to"),
        (lambda d: _poa(d).pop("valid_from"), f"{POA}.valid_from"),
        (lambda d: _poa(d).update(services=[]), f"{POA}.services"),
        (lambda d: _poa(d).update(services=["urgent"]), f"{POA}.services[0]"),
        (lambda d: _poa(d).update(services=["booking", "booking"]), f"{POA}.services[1]"),
        (lambda d: _poa(d).update(source="fax"), f"{POA}.source"),
        (lambda d: _poa(d).update(scope="all"), f"{POA}.scope"),
        (lambda d: d["powers_of_attorney"].append(dict(_poa(d))), "powers_of_attorney[2]"),
        (lambda d: d["patients"][2].update(confidential_address=True), f"{POA}.holder"),
        (lambda d: d["patients"][1].update(confidential_address=True), f"{POA}.giver"),
    ],
)  # fmt: skip
def test_each_kind_of_relation_error_is_reported_by_place(mutate, place):
    data = document()
    mutate(data)
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    assert place in [p for p, _ in failure.value.errors]
    assert not Clinic.objects.exists()


def test_ages_are_checked_on_the_day_the_power_of_attorney_starts():
    data = document()
    adult = make_national_id(birthday(TODAY, -18) - datetime.timedelta(days=10), 360)
    data["patients"].append(patient(adult, "Nylig Atten"))
    data["powers_of_attorney"][0]["holder"] = adult
    # Eighteen ten days ago: not yet when a power of attorney from 30 days ago started.
    data["powers_of_attorney"][0]["valid_from"] = str(TODAY - datetime.timedelta(days=30))
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    assert [p for p, _ in failure.value.errors] == ["powers_of_attorney[0].holder"]
    data["powers_of_attorney"][0]["valid_from"] = str(TODAY - datetime.timedelta(days=5))
    import_clinic(data)
    assert PowerOfAttorney.objects.filter(holder__national_id=adult).exists()


def test_an_fh_number_has_no_age_to_check():
    data = document()
    fh = make_national_id(datetime.date(1970, 1, 1), 350, kind="fhnr", synthetic=False)
    data["patients"].append(patient(fh, "FH Nummer"))
    data["powers_of_attorney"][0]["holder"] = fh
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    errors = dict(failure.value.errors)
    assert "no date of birth" in errors["powers_of_attorney[0].holder"]


def test_errors_never_repeat_an_identity_number():
    data = document()
    data["parent_child"][0]["child"] = "14838510036"
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    assert all("14838510036" not in message for _, message in failure.value.errors)


def test_a_power_of_attorney_ended_in_the_portal_is_not_exported():
    import_clinic(document())
    PowerOfAttorney.objects.filter(giver__name="Ingrid Eksempel").update(ended_at=timezone.now())
    exported = export_clinic(Clinic.objects.get())
    assert [a["source"] for a in exported["powers_of_attorney"]] == ["import"]
