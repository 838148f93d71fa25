"""The patient's booking form: a short plain-text reason (or problem, for urgent); the
waitlist's form ("Ønsker tidligere time")."""

from __future__ import annotations

import copy
import datetime
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import REASON_MAX_LENGTH, ScheduleRule


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


class WaitlistForm(forms.Form):
    """ "Ønsker tidligere time": who, which weekdays, between which times, until when. The
    practitioners are those the matrix offers the patient (the service checks again)."""

    practitioners = forms.TypedMultipleChoiceField(
        label=_("Practitioners"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one practitioner.")},
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays that suit"),
        coerce=int,
        choices=ScheduleRule.Weekday.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one weekday.")},
    )
    time_from = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    time_to = forms.TimeField(
        label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    until = forms.DateField(
        label=_("Until (last day)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("We stop looking for an earlier time after this day."),
    )

    def __init__(
        self,
        *args: Any,
        practitioners: list[tuple[int, str]],
        with_reason: bool,
        last_day: datetime.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.last_day = last_day
        field = self.fields["practitioners"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - the field declared above
        field.choices = practitioners
        self.fields["until"].widget.attrs["max"] = last_day.isoformat()
        if with_reason:
            self.fields["reason"] = copy.deepcopy(ReasonForm.base_fields["reason"])

    clean_reason = ReasonForm.clean_reason

    def clean_until(self) -> datetime.date:
        until: datetime.date = self.cleaned_data["until"]
        if until > self.last_day:
            raise ValidationError(
                _("Choose a day no later than %(day)s.") % {"day": self.last_day.isoformat()},
                code="until",
            )
        return until

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("time_from"), data.get("time_to")
        if start is not None and end is not None and not start < end:
            self.add_error("time_to", _("“To” must be after “from”."))
        return data
