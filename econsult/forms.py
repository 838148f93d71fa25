"""The forms of eConsultation: what a patient or a practitioner may type and attach."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .files import ALLOWED, CheckedFile, check_uploads
from .models import MAX_ATTACHMENTS, SUBJECT_MAX_LENGTH

ACCEPT = ",".join([*ALLOWED, ".jpg", ".jpeg", ".png", ".pdf", ".heic"])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Up to :data:`MAX_ATTACHMENTS` files, each checked by content (``econsult.files``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedFile]:
        uploads = data if isinstance(data, list | tuple) else [data] if data else []
        uploads = [upload for upload in uploads if upload]
        if not uploads:
            return []
        return check_uploads(list(uploads))


def _strip_controls(text: str) -> str:
    # Keep line breaks and tabs; drop NUL and other control characters (PostgreSQL refuses
    # NUL in text, and nothing else has a use in a message).
    return "".join(ch for ch in text if ch in "\n\t" or (ch >= " " and ch != "\x7f"))


class _MessageForm(forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}))
    attachments = MultipleFileField(
        label=_("Attachments"),
        help_text=_("Up to %(count)s pictures (JPEG, PNG, HEIC) or PDF documents, 10 MB each.")
        % {"count": MAX_ATTACHMENTS},
    )

    def __init__(self, *args: Any, max_length: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        body = cast(forms.CharField, self.fields["body"])
        body.max_length = max_length
        body.validators.append(MaxLengthValidator(max_length))
        body.widget.attrs["maxlength"] = str(max_length)
        body.help_text = _("At most %(count)s characters.") % {"count": max_length}

    def clean_body(self) -> str:
        body = _strip_controls(self.cleaned_data["body"]).strip()
        if not body:
            raise ValidationError(_("Write a message."), code="required")
        return body


class NewConsultationForm(_MessageForm):
    practitioner = forms.TypedChoiceField(
        label=_("To"), coerce=int, widget=forms.RadioSelect, empty_value=None
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_LENGTH)
    accept_fee = forms.BooleanField(required=False)

    field_order = ("practitioner", "subject", "body", "attachments", "accept_fee")

    def __init__(
        self,
        *args: Any,
        choices: list[tuple[int, str]],
        fee_nok: int,
        max_length: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, max_length=max_length, **kwargs)
        cast(forms.ChoiceField, self.fields["practitioner"]).choices = choices
        if len(choices) == 1:
            self.fields["practitioner"].initial = choices[0][0]
        self.fee_nok = fee_nok
        if fee_nok:
            self.fields["accept_fee"].required = True
            self.fields["accept_fee"].label = _(
                "I accept that the clinic charges %(fee)s kr for an eConsultation."
            ) % {"fee": fee_nok}
            self.fields["accept_fee"].error_messages["required"] = _(
                "Accept the fee to send the eConsultation."
            )
        else:
            del self.fields["accept_fee"]

    def clean_subject(self) -> str:
        subject = " ".join(_strip_controls(self.cleaned_data["subject"]).split())
        if not subject:
            raise ValidationError(_("Write a subject."), code="required")
        return subject


class ReplyForm(_MessageForm):
    """The patient's reply in an open thread."""


class AnswerForm(forms.Form):
    """The practitioner's answer."""

    body = forms.CharField(
        label=_("Answer"), widget=forms.Textarea(attrs={"rows": 8}), max_length=10_000
    )

    def clean_body(self) -> str:
        body = _strip_controls(self.cleaned_data["body"]).strip()
        if not body:
            raise ValidationError(_("Write an answer."), code="required")
        return body


class ReassignForm(forms.Form):
    practitioner = forms.TypedChoiceField(label=_("Move to"), coerce=int, empty_value=None)

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["practitioner"]).choices = choices
