"""The tenant-scoped admin base: a clinic administrator sees only their own clinic.

Every ModelAdmin for clinic-owned data derives from :class:`ClinicScopedAdmin`. The queryset
is narrowed to the staff user's clinic, so another clinic's objects can be neither listed nor
opened, changed or deleted by URL (the admin answers as for an object that does not exist);
foreign-key choices are narrowed the same way, and new objects are put in the user's clinic.
A superuser sees everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from . import audit


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


class ClinicScopedAdmin(admin.ModelAdmin):
    #: The path from this model to its clinic, as a queryset lookup.
    clinic_lookup = "clinic"
    #: Fields staff may not see whole, so the list may not be filtered on them from its URL
    #: either: Django allows any lookup on a model's own fields (``?text__contains=12``), and
    #: whether a row is still listed would give the value away a character at a time.
    unfilterable_fields: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        clinic_id = staff_clinic_id(request)
        if clinic_id is None:
            return qs.none()
        return qs.filter(**{f"{self.clinic_lookup}_id": clinic_id})

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.unfilterable_fields:
            return False  # the admin answers 400 (Bad Request)
        return super().lookup_allowed(lookup, value, request)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.clinic_lookup == "clinic":
            exclude.append("clinic")
        return exclude

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

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        clinic_id = staff_clinic_id(request)
        if field is not None and not request.user.is_superuser and clinic_id is not None:
            related = db_field.related_model
            if related._meta.model_name == "clinic":
                field.queryset = field.queryset.filter(pk=clinic_id)
            elif any(f.name == "clinic" for f in related._meta.get_fields()):
                field.queryset = field.queryset.filter(clinic_id=clinic_id)
        return field

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        clinic_id = staff_clinic_id(request)
        if request.user.is_superuser or self.clinic_lookup != "clinic" or clinic_id is None:
            return form

        class ClinicForm(form):  # type: ignore[misc, valid-type]
            """Puts a new object in the user's clinic before validation, so that constraints
            that involve the (hidden) clinic field are checked with a clear message."""

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

    # Clinic administrators manage their clinic's data without per-model permissions.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_clinic_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_clinic_staff(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_staff(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_staff(request)


class ReadOnlyClinicScopedAdmin(ClinicScopedAdmin):
    """For records nobody may edit through the admin (outbox, audit log)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
