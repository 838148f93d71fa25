"""Mobile numbers, parsed with ``phonenumbers`` and stored in E.164 (Norway by default)."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def normalise_mobile(raw: str | None) -> str:
    """Return the number in E.164, or '' for none; raise ValidationError when it is wrong."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, "NO")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("This is not a phone number."), code="invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("This is not a valid phone number."), code="invalid")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValidationError(
            _("This is not a mobile number; login codes are sent by SMS."), code="not_mobile"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def last_digits(e164: str, count: int = 3) -> str:
    return e164[-count:] if e164 else ""
