from __future__ import annotations

import copy
import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from clinics.demo import demo_document
from clinics.exchange import ImportFailed, dumps, export_clinic, import_clinic
from clinics.models import Clinic, Patient, PatientList, Practitioner
from clinics.national_id import make as make_national_id
from clinics.selectors import may_use_portal
from tests.factories import national_id

pytestmark = pytest.mark.django_db


def document() -> dict:
    return copy.deepcopy(demo_document())


def write(tmp_path, data, name="clinic.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def export_text(ep_ident="DEMO") -> str:
    out = io.StringIO()
    call_command("export_clinic", ep_ident, stdout=out)
    return out.getvalue()


def test_import_creates_the_clinic_and_everything_in_it(tmp_path):
    call_command("import_clinic", write(tmp_path, document()), stdout=io.StringIO())
    clinic = Clinic.objects.get(ep_ident="DEMO")
    assert clinic.practitioners.count() == 5
    assert clinic.patient_lists.count() == 2
    assert clinic.patients.count() == 7
    nordmann = Practitioner.objects.get(key="p-nordmann")
    assert nordmann.role == "gp" and nordmann.eportal_enabled
    assert PatientList.objects.get(key="list-nordmann").gp == nordmann
    no_gp = Patient.objects.get(name="Per Uten Fastlege")
    assert no_gp.patient_list is None
    assert Patient.objects.get(name="Siri Utenmobil").mobile == ""


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = write(tmp_path, document())
    call_command("import_clinic", path, stdout=io.StringIO())
    before = {p.pk: p.updated for p in Patient.objects.all()}
    first_export = export_text()
    out = io.StringIO()
    call_command("import_clinic", path, stdout=out)
    assert "no changes" in out.getvalue()
    assert {p.pk: p.updated for p in Patient.objects.all()} == before
    assert export_text() == first_export


def test_changed_file_updates_in_place(tmp_path):
    call_command("import_clinic", write(tmp_path, document()), stdout=io.StringIO())
    pk = Patient.objects.get(name="Kari Testesen").pk
    data = document()
    data["clinic"]["name"] = "Demo legesenter"
    data["clinic"]["ep_ident"] = "demo"  # matched case-insensitively
    data["practitioners"][0]["name"] = "Kari Nordmann-Berg"
    data["patients"][0]["name"] = "Kari Testesen-Berg"
    data["patients"][0]["patient_list"] = "list-hansen"
    call_command("import_clinic", write(tmp_path, data), stdout=io.StringIO())
    assert Clinic.objects.count() == 1
    assert Clinic.objects.get().name == "Demo legesenter"
    assert Practitioner.objects.get(key="p-nordmann").name == "Kari Nordmann-Berg"
    patient = Patient.objects.get(pk=pk)
    assert patient.name == "Kari Testesen-Berg"
    assert patient.patient_list.key == "list-hansen"


def test_patient_missing_from_a_later_file_is_marked_inactive_not_deleted(tmp_path):
    call_command("import_clinic", write(tmp_path, document()), stdout=io.StringIO())
    data = document()
    gone = data["patients"].pop(0)
    call_command("import_clinic", write(tmp_path, data), stdout=io.StringIO())
    patient = Patient.objects.get(national_id=gone["national_id"])
    assert patient.journal_active is False
    assert Patient.objects.count() == 7


def test_errors_are_listed_by_place_and_nothing_is_imported(tmp_path):
    data = document()
    data["patients"][3]["national_id"] = "12345678901"
    data["patients"][1]["mobile"] = "22334455"  # a landline
    data["patients"][2]["patient_list"] = "no-such-list"
    data["practitioners"][1]["role"] = "surgeon"
    data["patient_lists"][0]["gp"] = "nobody"
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_clinic", write(tmp_path, data), stdout=io.StringIO(), stderr=err)
    report = err.getvalue()
    for place in (
        "patients[3].national_id",
        "patients[1].mobile",
        "patients[2].patient_list",
        "practitioners[1].role",
        "patient_lists[0].gp",
    ):
        assert place in report
    assert not Clinic.objects.exists()
    assert not Patient.objects.exists()


def test_an_error_late_in_the_file_imports_nothing_of_an_existing_clinic(tmp_path):
    call_command("import_clinic", write(tmp_path, document()), stdout=io.StringIO())
    data = document()
    data["clinic"]["name"] = "Changed"
    data["patients"][-1]["national_id"] = "not a number"
    with pytest.raises(ImportFailed):
        import_clinic(data)
    assert Clinic.objects.get().name == "Demo legekontor"


@pytest.mark.parametrize(
    ("mutate", "place"),
    [
        (lambda d: d.update(format="other/2"), "format"),
        (lambda d: d.pop("clinic"), "clinic"),
        (lambda d: d["clinic"].update(ep_ident="has space"), "clinic.ep_ident"),
        (lambda d: d["clinic"].update(login_methods=["fax"]), "clinic.login_methods"),
        (lambda d: d["practitioners"][1].update(key="p-nordmann"), "practitioners[1].key"),
        (lambda d: d["practitioners"][0].update(hpr="12ab"), "practitioners[0].hpr"),
        (lambda d: d["patients"].append(d["patients"][0]), "patients[7].national_id"),
        (lambda d: d["patients"][0].update(journal_active="yes"), "patients[0].journal_active"),
        (lambda d: d["patients"][0].pop("name"), "patients[0].name"),
        (lambda d: d.update(unknown_section=[]), "unknown_section"),
        (lambda d: d.update(patients="many"), "patients"),
    ],
)
def test_each_kind_of_error_is_reported_by_place(mutate, place):
    data = document()
    mutate(data)
    with pytest.raises(ImportFailed) as failure:
        import_clinic(data)
    assert place in [p for p, _ in failure.value.errors]


def test_synthetic_numbers_are_refused_when_not_allowed(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = False
    with pytest.raises(ImportFailed) as failure:
        import_clinic(document())
    assert "patients[0].national_id" in [p for p, _ in failure.value.errors]


def test_h_and_fh_numbers_are_stored_but_never_eligible():
    data = document()
    data["patients"].append(
        {
            "national_id": make_national_id(
                datetime.date(1980, 5, 5), 300, kind="hnr", synthetic=False
            ),
            "name": "H Nummer",
            "mobile": "+4741111111",
            "journal_active": True,
            "patient_list": None,
        }
    )
    data["patients"].append(
        {
            "national_id": national_id(kind="fhnr"),
            "name": "FH Nummer",
            "mobile": "+4741111112",
            "journal_active": True,
            "patient_list": None,
        }
    )
    import_clinic(data)
    assert not may_use_portal(Patient.objects.get(name="H Nummer"))
    assert not may_use_portal(Patient.objects.get(name="FH Nummer"))
    assert may_use_portal(Patient.objects.get(name="Dina D-nummer"))


def test_mobile_numbers_are_stored_in_e164():
    data = document()
    data["patients"][0]["mobile"] = "412 34 567"
    import_clinic(data)
    assert Patient.objects.get(name="Kari Testesen").mobile == "+4741234567"


def test_unreadable_file_gives_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_clinic", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_clinic", str(tmp_path / "missing.json"))


def test_export_is_stable_and_round_trips(tmp_path, django_db_blocker):
    import_clinic(document())
    first = export_text()
    assert first == export_text()
    assert "created" not in first and "updated" not in first  # no timestamps
    path = tmp_path / "export.json"
    call_command("export_clinic", "DEMO", "-o", str(path))
    assert path.read_text(encoding="utf-8") == first
    # Into an empty database: the same export comes back.
    Clinic.objects.all().delete()
    call_command("import_clinic", str(path), stdout=io.StringIO())
    assert export_text() == first


def test_export_is_independent_of_insertion_order():
    data = document()
    import_clinic(data)
    first = dumps(export_clinic(Clinic.objects.get()))
    Clinic.objects.all().delete()
    data["practitioners"].reverse()
    data["patient_lists"].reverse()
    data["patients"].reverse()
    import_clinic(data)
    assert dumps(export_clinic(Clinic.objects.get())) == first


def test_export_of_unknown_clinic_is_an_error():
    with pytest.raises(CommandError, match="No clinic"):
        call_command("export_clinic", "NOPE")


def test_loaddemo_loads_the_demo_clinic_and_admin():
    out = io.StringIO()
    call_command("loaddemo", stdout=out)
    call_command("loaddemo", stdout=io.StringIO())  # twice is fine
    clinic = Clinic.objects.get(ep_ident="DEMO")
    roles = set(clinic.practitioners.values_list("role", flat=True))
    assert {"gp", "locum", "junior"} <= roles
    assert clinic.patient_lists.count() == 2
    patients = clinic.patients.all()
    assert any(p.patient_list is None for p in patients)
    assert any(not p.mobile for p in patients)
    assert any(not p.journal_active for p in patients)
    assert clinic.staff.filter(is_staff=True).exists()
    text = out.getvalue()
    assert "Login.aspx?ClinicId=DEMO" in text
    assert "admin@demo.eportal.invalid" in text


def test_the_demo_clinic_has_a_timebook_with_online_slots(django_capture_on_commit_callbacks):
    from booking.models import Slot

    with django_capture_on_commit_callbacks(execute=True):  # slots are laid after the commit
        call_command("loaddemo", stdout=io.StringIO())
    clinic = Clinic.objects.get(ep_ident="DEMO")
    assert Slot.objects.filter(practitioner__clinic=clinic, appointment_type__online=True).exists()
    exported = export_clinic(clinic)
    assert exported["appointment_types"] == demo_document()["appointment_types"]
    assert exported["schedule_templates"] == demo_document()["schedule_templates"]
