"""Patient-facing forms: identity number, password, SMS code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from clinics import national_id


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
