"""The admin bases (clinics/admin_base.py) hold for every admin class of the site: each one
uses them, every choice of every admin form and inline is the user's own clinic's, and
whoever is not clinic staff may do nothing anywhere."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.forms import ModelChoiceField, ModelMultipleChoiceField

from booking.models import Absence, ClosedDay
from clinics.admin_base import (
    ClinicScopedAdmin,
    ClinicScopedInline,
    ClinicStaffPage,
    ClinicStaffPermissions,
    ReadOnlyClinicScopedAdmin,
    clinic_path,
)
from clinics.models import User
from tests import factories

pytestmark = pytest.mark.django_db

OUR_APPS = {"clinics", "delegation", "booking", "econsult", "sms", "fhirapi"}


def ours(model_admin) -> bool:
    return model_admin.model._meta.app_label in OUR_APPS


def registered():
    return [m for m in admin.site._registry.values() if ours(m)]


def as_request(rf, user):
    request = rf.get("/admin/")
    request.user = user
    return request


def populate(clinic):
    w = factories.build_booking_world(clinic)
    w.template = factories.make_template(w.gp, w.ep)
    Absence.objects.create(practitioner=w.gp, first_day="2026-06-01", last_day="2026-06-02")
    ClosedDay.objects.create(clinic=clinic, date="2026-05-17")
    return w


def test_every_admin_class_of_ours_uses_the_bases():
    for model_admin in registered():
        if isinstance(model_admin, UserAdmin):
            continue  # staff accounts: superusers only, with Django's own permissions
        assert isinstance(model_admin, ClinicScopedAdmin | ClinicStaffPage), model_admin
        for inline in model_admin.inlines:
            assert issubclass(inline, ClinicScopedInline), inline


def forms_of(model_admin, request):
    """The add form of a model admin and the blank form of each of its inlines."""
    yield model_admin.model, model_admin.get_form(request)()
    for inline in model_admin.get_inline_instances(request):
        yield inline.model, inline.get_formset(request)().empty_form


def test_every_choice_of_every_admin_form_is_the_users_clinics(rf, clinic, other_clinic):
    mine, theirs = populate(clinic), populate(other_clinic)
    request = as_request(rf, factories.make_staff(clinic))
    checked = set()
    for model_admin in registered():
        if not isinstance(model_admin, ClinicScopedAdmin):
            continue
        for model, form in forms_of(model_admin, request):
            for name, field in form.fields.items():
                if not isinstance(field, ModelChoiceField | ModelMultipleChoiceField):
                    continue
                if name == model._meta.pk.name:
                    continue  # an inline row's hidden id: Django edits only the inline's rows
                related = field.queryset.model
                path = clinic_path(related, admin.site)
                if related._meta.app_label not in OUR_APPS:
                    continue
                assert path is not None, f"{model.__name__}.{name}: no way to its clinic"
                lookup = "pk" if path == "pk" else f"{path}_id"
                offered = field.queryset
                assert not offered.exclude(**{lookup: mine.clinic.pk}).exists(), (model, name)
                if related._base_manager.filter(**{lookup: theirs.clinic.pk}).exists():
                    checked.add(f"{model._meta.model_name}.{name}")
    # Not vacuous: these forms do choose among objects that the other clinic has too.
    assert {
        "patient.patient_list",
        "patientlist.gp",
        "scheduletemplate.practitioner",
        "schedulerule.appointment_type",
        "absence.practitioner",
    } <= checked


@pytest.fixture(params=["anonymous", "not staff", "staff without a clinic"])
def outsider(request, rf, clinic):
    from django.contrib.auth.models import AnonymousUser

    user = {
        "anonymous": lambda: AnonymousUser(),
        "not staff": lambda: User.objects.create_user(
            "patient-like@example.org", "correct-horse-battery", clinic=clinic
        ),
        "staff without a clinic": lambda: factories.make_staff(None),
    }[request.param]()
    return as_request(rf, user)


def permission_block(model_admin, request) -> dict[str, bool]:
    return {
        "module": model_admin.has_module_permission(request),
        "view": model_admin.has_view_permission(request),
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_change_permission(request),
        "delete": model_admin.has_delete_permission(request),
    }


def test_outsiders_may_do_nothing_in_any_admin_class(outsider):
    for model_admin in registered():
        if isinstance(model_admin, ClinicStaffPermissions):
            assert not any(permission_block(model_admin, outsider).values()), model_admin
            for inline in model_admin.get_inline_instances(outsider):
                assert not any(permission_block(inline, outsider).values()), inline


def test_clinic_staff_may_do_what_staff_may_and_nothing_else(rf, clinic_admin):
    request = as_request(rf, clinic_admin)
    for model_admin in registered():
        if not isinstance(model_admin, ClinicStaffPermissions):
            continue
        block = permission_block(model_admin, request)
        assert block.pop("module")
        for action, allowed in block.items():
            if action not in model_admin.staff_may:
                assert not allowed, (model_admin, action)


def test_read_only_admins_refuse_every_change_even_to_a_superuser(rf, superuser):
    request = as_request(rf, superuser)
    read_only = [m for m in registered() if isinstance(m, ReadOnlyClinicScopedAdmin)]
    assert read_only
    for model_admin in read_only:
        block = permission_block(model_admin, request)
        assert block["view"]
        # The appointments' "change" is the cancel action's; their fields stay read-only.
        assert not block["add"] and not block["delete"]
        assert block["change"] == ("change" in model_admin.staff_may)


def test_a_clinic_admin_may_change_but_never_add_or_delete_a_clinic(rf, clinic_admin, superuser):
    from clinics.models import Clinic

    clinic_admin_page = admin.site.get_model_admin(Clinic)
    staff = permission_block(clinic_admin_page, as_request(rf, clinic_admin))
    assert staff == {"module": True, "view": True, "add": False, "change": True, "delete": False}
    root = permission_block(clinic_admin_page, as_request(rf, superuser))
    assert all(root.values())


# Pages that are not changelists ("Aktiver ePortal", "ePortal delegerer")


def test_a_read_only_page_refuses_a_post(admin_client_for, clinic_admin):
    client = admin_client_for(clinic_admin)
    assert client.get("/admin/clinics/clinicactivation/").status_code == 200
    assert client.post("/admin/clinics/clinicactivation/").status_code == 403


def test_a_page_that_saves_refuses_staff_without_a_clinic(admin_client_for, db):
    client = admin_client_for(factories.make_staff(None))
    assert client.get("/admin/delegation/delegation/booking/").status_code == 403
    response = client.post("/admin/delegation/delegation/booking/reset/")
    assert response.status_code == 403
