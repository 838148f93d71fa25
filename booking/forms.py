"""The patient's booking form: a short plain-text reason (or problem, for urgent)."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import REASON_MAX_LENGTH


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the appointment"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("A few words in plain text, at most 200 characters."),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REASON_MAX_LENGTH}),
    )

    def __init__(self, *args: Any, urgent: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if urgent:
            self.fields["reason"].label = _("Describe the problem briefly")

    def clean_reason(self) -> str:
        value = " ".join(self.cleaned_data["reason"].split())
        if any(unicodedata.category(c) in {"Cc", "Cf", "Co", "Cs"} for c in value):
            raise ValidationError(_("Please use plain text only."), code="plain_text")
        if not value:
            raise ValidationError(_("Please write a short reason."), code="required")
        return value
