"""The tenant-scoped admin base: a clinic administrator sees only their own clinic.

Three bases, and the rules they share in one place each:

* :class:`ClinicScopedAdmin` for every ModelAdmin of clinic-owned data, and
  :class:`ClinicScopedInline` for every inline. The queryset is narrowed to the staff user's
  clinic (:func:`scope_to_clinic`), so another clinic's objects can be neither listed nor
  opened, changed or deleted by URL (the admin answers as for an object that does not
  exist); foreign-key and many-to-many choices are narrowed the same way
  (:func:`clinic_path` says how a model reaches its clinic), and new objects are put in the
  user's clinic.
* :class:`ClinicStaffPage` for an admin page that is not a changelist ("ePortal
  delegerer", "Aktiver ePortal").
* :class:`ClinicStaffPermissions`, the permission block of all three: clinic staff manage
  their clinic without per-model permissions; ``staff_may`` names what they may do.

A superuser sees everything. See docs/architecture.md ("admin bases").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from . import audit

#: What an admin class may let clinic staff do: Django's four permissions.
ACTIONS = ("view", "add", "change", "delete")


def staff_clinic_id(request: HttpRequest) -> int | None:
    """The clinic a non-superuser staff member administers, or None."""
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return None
    return getattr(user, "clinic_id", None)


def is_clinic_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff) and (
        user.is_superuser or staff_clinic_id(request) is not None
    )


def scope_to_clinic(queryset: models.QuerySet, request: HttpRequest, path: str) -> models.QuerySet:
    """``queryset`` as the request's user may see it: all of it for a superuser, the rows of
    their clinic for clinic staff, nothing for anyone else. ``path`` leads from the
    queryset's model to its clinic (``"clinic"``, ``"practitioner__clinic"``; ``"pk"`` for
    the clinics themselves)."""
    if request.user.is_superuser:
        return queryset
    clinic_id = staff_clinic_id(request)
    if clinic_id is None:
        return queryset.none()
    return queryset.filter(**{"pk" if path == "pk" else f"{path}_id": clinic_id})


def clinic_path(model: type[models.Model], site: admin.AdminSite) -> str | None:
    """How rows of ``model`` reach their clinic, for :func:`scope_to_clinic`; None for a
    model that belongs to no clinic (auth groups and permissions).

    The clinic itself (proxies included) answers ``"pk"``; a model registered on ``site``
    with a clinic-scoped admin, that admin's ``clinic_lookup``; any other model with a
    ``clinic`` field, ``"clinic"``. A clinic-owned model without a ``clinic`` field is
    registered with its lookup (tests/clinics/test_admin_bases.py checks every choice of
    every admin form)."""
    from .models import Clinic

    if model._meta.concrete_model is Clinic:
        return "pk"
    if site.is_registered(model):
        model_admin = site.get_model_admin(model)
        if isinstance(model_admin, ClinicScoping):
            return model_admin.clinic_lookup
    if any(field.name == "clinic" for field in model._meta.get_fields()):
        return "clinic"
    return None


class ClinicStaffPermissions:
    """The permission block of every admin class for clinic staff: clinic administrators
    manage their clinic's data without per-model permissions (the data itself is scoped by
    :func:`scope_to_clinic`).

    ``staff_may`` names what clinic staff (and superusers) may do; ``superuser_may`` what
    only superusers may do besides. Nobody may do anything else here.
    """

    staff_may: tuple[str, ...] = ACTIONS
    superuser_may: tuple[str, ...] = ()

    def _may(self, request: HttpRequest, action: str) -> bool:
        if action in self.staff_may:
            return is_clinic_staff(request)
        return (
            action in self.superuser_may and is_clinic_staff(request) and request.user.is_superuser
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_clinic_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, "view")

    # ``obj``: inlines are asked about the parent object; model admins are not.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, "delete")


if TYPE_CHECKING:
    # For the checker, the mixin is the admin it is mixed into (a ModelAdmin or an inline).
    _ScopingBase = admin.options.BaseModelAdmin
else:
    _ScopingBase = object


class ClinicScoping(_ScopingBase):
    """The tenant scoping that model admins and inlines share: their rows, the choices of
    their forms, the hidden clinic field and the clinic of a new object."""

    #: The path from this model to its clinic, as a queryset lookup.
    clinic_lookup = "clinic"
    #: Fields staff may not see whole, so the list may not be filtered on them from its URL
    #: either: Django allows any lookup on a model's own fields (``?text__contains=12``), and
    #: whether a row is still listed would give the value away a character at a time.
    unfilterable_fields: tuple[str, ...] = ()

    admin_site: admin.AdminSite

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        qs = super().get_queryset(request)
        return scope_to_clinic(qs, request, self.clinic_lookup)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.unfilterable_fields:
            return False  # the admin answers 400 (Bad Request)
        return super().lookup_allowed(lookup, value, request)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.clinic_lookup == "clinic":
            exclude.append("clinic")
        return exclude

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scope_choices(field, db_field, request)

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField, request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scope_choices(field, db_field, request)

    def _scope_choices(self, field: Any, db_field: models.Field, request: HttpRequest) -> Any:
        if field is None or not hasattr(field, "queryset"):
            return field
        # A relation's related_model is its model class once the apps are loaded.
        related = cast(type[models.Model], db_field.related_model)
        path = clinic_path(related, self.admin_site)
        if path is not None:
            field.queryset = scope_to_clinic(field.queryset, request, path)
        return field

    def _in_users_clinic(self, form: Any, request: HttpRequest) -> Any:
        """``form``, putting a new object in the user's clinic before validation, so that
        constraints that involve the (hidden) clinic field are checked with a clear message."""
        clinic_id = staff_clinic_id(request)
        if request.user.is_superuser or self.clinic_lookup != "clinic" or clinic_id is None:
            return form
        return _clinic_form(form, clinic_id)


def _clinic_form(form: type, clinic_id: int) -> type:
    class ClinicForm(form):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            if self.instance.clinic_id is None:
                self.instance.clinic_id = clinic_id

        def _post_clean(self) -> None:
            super()._post_clean()
            for constraint in self.instance._meta.constraints:
                if "clinic" not in getattr(constraint, "fields", ()):
                    continue
                try:
                    constraint.validate(type(self.instance), self.instance)
                except ValidationError as error:
                    self.add_error(None, error)

    return ClinicForm


class ClinicScopedAdmin(ClinicScoping, ClinicStaffPermissions, admin.ModelAdmin):
    """The ModelAdmin of clinic-owned data (see the module docstring)."""

    #: The audit action recorded each time staff open an object's page (``"patient.read"``);
    #: None records nothing. The one place where a staff read is written to the audit log.
    audit_read_action: str | None = None

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audit_read_action and request.method == "GET" and response.status_code == 200:
            obj = (getattr(response, "context_data", None) or {}).get("original")
            if obj is not None:
                audit.record(self.audit_read_action, request=request, obj=obj)
        return response

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            if self.clinic_lookup == "clinic":
                filters.insert(0, "clinic")
            return filters
        return [self._scoped_list_filter(item) for item in filters]

    def _scoped_list_filter(self, item: Any) -> Any:
        """Django's related-field filter offers every row of the related table as a choice,
        whatever the clinic; offer only the values found in the user's own objects."""
        if isinstance(item, (list, tuple)):
            name, filter_class = item
            if filter_class is not admin.RelatedFieldListFilter:
                return item
        elif isinstance(item, str):
            name = item
        else:
            return item
        try:
            field = get_fields_from_path(self.model, name)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return item
        if field.is_relation:
            return (name, admin.RelatedOnlyFieldListFilter)
        return item

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return self._in_users_clinic(form, request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not request.user.is_superuser and self.clinic_lookup == "clinic" and not change:
            obj.clinic_id = staff_clinic_id(request)
        super().save_model(request, obj, form, change)

    # Every change an administrator makes lands in the audit log (field names, never values).
    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit.record("admin.add", request=request, obj=obj, details={"change": message})
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        audit.record("admin.change", request=request, obj=obj, details={"change": message})
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            audit.record("admin.delete", request=request, obj=obj)
        return super().log_deletions(request, queryset)


class ReadOnlyClinicScopedAdmin(ClinicScopedAdmin):
    """For records nobody may edit through the admin (outbox, audit log)."""

    staff_may: tuple[str, ...] = ("view",)


class ClinicScopedInline(ClinicScoping, ClinicStaffPermissions, admin.options.InlineModelAdmin):
    """The inline of clinic-owned data: its rows, its choices and its new objects are scoped
    as :class:`ClinicScopedAdmin`'s are. Set ``clinic_lookup`` when the model reaches its
    clinic through others, and combine it with a layout::

        class RuleInline(ClinicScopedInline, admin.TabularInline):
            model = ScheduleRule
            clinic_lookup = "template__practitioner__clinic"
    """

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = self._in_users_clinic(formset.form, request)
        return formset


class ClinicStaffPage(ClinicStaffPermissions, admin.ModelAdmin):
    """An admin page for clinic staff in place of a model's changelist ("ePortal delegerer",
    "Aktiver ePortal"). It adds and deletes nothing; set ``staff_may`` to
    ``("view", "change")`` when the page saves something.

    Wrap each of the page's views with :meth:`page_view`: behind the admin login, a GET needs
    the view permission and any other method the change permission; anyone else gets 403.
    Which clinic a view shows is the view's own business (:func:`staff_clinic_id`,
    :func:`scope_to_clinic`).
    """

    staff_may: tuple[str, ...] = ("view",)

    def page_view(self, view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in ("GET", "HEAD"):
                allowed = self.has_view_permission(request)
            else:
                allowed = self.has_change_permission(request)
            if not allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return self.admin_site.admin_view(checked)

    def page_url_name(self, suffix: str = "changelist") -> str:
        """The URL name of one of the page's views: ``<app>_<model>_<suffix>``; the
        changelist's is the page's own, so the admin index links to it."""
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{suffix}"

    def page_context(self, request: HttpRequest, **context: Any) -> dict[str, Any]:
        """The admin's context for a page template, with ``context`` on top."""
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
