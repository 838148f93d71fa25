"""Patient-facing forms: identity number, password, SMS code."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics import national_id
from clinics.models import PowerOfAttorney


class NationalIdField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("National identity number (11 digits)"))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"inputmode": "numeric", "autocomplete": "username", "spellcheck": "false"}
        )

    def clean(self, value: str) -> str:
        value = super().clean(value)
        return national_id.parse(value).value


class PasswordStartForm(forms.Form):
    national_id = NationalIdField()


class LoginForm(forms.Form):
    national_id = NationalIdField()
    password = forms.CharField(
        label=_("Password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS (6 digits)"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not (code.isdigit() and code.isascii() and len(code) == 6):
            raise ValidationError(_("The code has 6 digits."), code="format")
        return code


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters. Avoid common passwords and plain numbers."),
    )
    password2 = forms.CharField(
        label=_("Repeat the new password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords are not the same."))
        elif p1:
            try:
                password_validation.validate_password(p1)
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class GiveAttorneyForm(forms.Form):
    """A power of attorney given in the portal (docs/acting-for-others.md): to whom, for
    which services, until when. The rules are checked by ``clinics.services``."""

    national_id = NationalIdField(
        label=_("Identity number of the person you give it to (11 digits)"),
    )
    services = forms.MultipleChoiceField(
        label=_("Services the person may use for you"),
        choices=PowerOfAttorney.Service.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one service."),
            "invalid_choice": _("Choose among the services listed."),
        },
    )
    valid_to = forms.DateField(
        label=_("Valid until (inclusive)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, for example 2027-12-31.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["national_id"].widget.attrs["autocomplete"] = "off"

    def clean_valid_to(self) -> datetime.date:
        valid_to: datetime.date = self.cleaned_data["valid_to"]
        if valid_to < timezone.localdate():
            raise ValidationError(_("The end date cannot be in the past."), code="past")
        return valid_to
