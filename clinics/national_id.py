"""Norwegian national identity numbers (fødselsnummer, D-number, H-number, FH-number).

python-stdnum knows the two mod-11 check digits and the birth-date and century rules; this
module adds what a clinic needs on top: which *kind* of number it is, whether synthetic test
numbers (month + 80, as the national test registry issues them) are accepted, and a
clear message for each way a number can be wrong.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import InvalidComponent
from stdnum.no import fodselsnummer


class IdKind(models.TextChoices):
    FNR = "fnr", _("National identity number")
    DNR = "dnr", _("D-number")
    HNR = "hnr", _("H-number")
    FHNR = "fhnr", _("FH-number")


# Kinds of number that can identify a person to the portal (rule 5: "full identity number").
LOGIN_KINDS = frozenset({IdKind.FNR, IdKind.DNR})


@dataclass(frozen=True)
class IdentityNumber:
    value: str
    kind: IdKind
    synthetic: bool
    birth_date: datetime.date | None

    @property
    def can_log_in(self) -> bool:
        return self.kind in LOGIN_KINDS


def compact(raw: str) -> str:
    return fodselsnummer.compact(raw or "")


def parse(raw: str, *, allow_synthetic: bool | None = None) -> IdentityNumber:
    """Validate ``raw`` and tell what kind of number it is; raise ValidationError if wrong."""
    if allow_synthetic is None:
        allow_synthetic = settings.EPORTAL_ALLOW_SYNTHETIC_IDS
    number = compact(raw)
    if not number.isdigit() or not number.isascii():
        raise ValidationError(_("An identity number has digits only."), code="format")
    if len(number) != 11:
        raise ValidationError(
            _("An identity number has 11 digits; this one has %(count)d.") % {"count": len(number)},
            code="length",
        )
    if number[9] != fodselsnummer.calc_check_digit1(number) or number[
        10
    ] != fodselsnummer.calc_check_digit2(number):
        raise ValidationError(
            _(
                "This identity number is not valid: the check digits do not match. "
                "Check that every digit is right."
            ),
            code="checksum",
        )
    if number[0] in "89":
        # FH-numbers carry no birth date by design.
        return IdentityNumber(number, IdKind.FHNR, synthetic=False, birth_date=None)

    day, month = int(number[0:2]), int(number[2:4])
    synthetic = month > 80
    if synthetic:
        if not allow_synthetic:
            raise ValidationError(
                _("This is a synthetic test identity number, which is not accepted here."),
                code="synthetic",
            )
        month -= 80
    kind = IdKind.FNR
    if day > 40:
        kind = IdKind.DNR
        day -= 40
    if month > 40:
        kind = IdKind.HNR
        month -= 40
    normalised = f"{day:02d}{month:02d}{number[4:]}"
    try:
        birth_date = fodselsnummer.get_birth_date(normalised)
    except InvalidComponent:
        raise ValidationError(
            _("This identity number does not contain a real date of birth."), code="date"
        ) from None
    if birth_date > datetime.date.today():
        raise ValidationError(
            _("This identity number has a date of birth in the future."), code="future"
        )
    return IdentityNumber(number, kind, synthetic=synthetic, birth_date=birth_date)


def classify(number: str) -> IdKind:
    """The kind of a stored (already validated) number, from its digits alone."""
    number = compact(number)
    if len(number) != 11 or not number.isdigit():
        return IdKind.FHNR  # unknown shapes never log in
    if number[0] in "89":
        return IdKind.FHNR
    if int(number[2:4]) % 80 > 40:
        return IdKind.HNR
    if int(number[0:2]) > 40:
        return IdKind.DNR
    return IdKind.FNR


def validate_national_id(raw: str) -> None:
    """Model/form field validator."""
    parse(raw)


def mask(number: str) -> str:
    """Show the birth-date part, hide the personal part: ``010180 *****``."""
    number = compact(number)
    if len(number) != 11:
        return "*" * len(number)
    return f"{number[:6]} *****"


def make(
    birth_date: datetime.date, individual: int = 100, *, kind: str = "fnr", synthetic: bool = True
) -> str:
    """Build a valid number for a birth date (used by the demo data and the tests).

    Tries successive individual numbers until both check digits are single digits. The
    individual number also encodes the century (000–499: 1900s; 500–749: 1854–1899;
    500–999: 2000–2039), so only birth years 1854–2039 can be built. H-numbers have no
    synthetic form (month + 40 + 80 does not fit in two digits).
    """
    year = birth_date.year
    if kind == "hnr" and synthetic:
        raise ValueError("H-numbers have no synthetic form; pass synthetic=False")
    if 1900 <= year <= 1999:
        first, count = 0, 500
    elif 2000 <= year <= 2039:
        first, count = 500, 500
    elif 1854 <= year <= 1899:
        first, count = 500, 250
    else:
        raise ValueError(f"identity numbers cannot encode the birth year {year}")
    day = birth_date.day + (40 if kind == "dnr" else 0)
    month = birth_date.month + (80 if synthetic else 0) + (40 if kind == "hnr" else 0)
    for attempt in range(individual, individual + count):
        serial = first + attempt % count
        base = f"{day:02d}{month:02d}{year % 100:02d}{serial:03d}"
        if kind == "fhnr":
            base = "8" + base[1:]
        d1 = fodselsnummer.calc_check_digit1(base)
        if len(d1) != 1:
            continue
        d2 = fodselsnummer.calc_check_digit2(base + d1)
        if len(d2) != 1:
            continue
        return base + d1 + d2
    raise ValueError("no valid identity number for that date")  # pragma: no cover


def birth_date(number: str) -> datetime.date | None:
    """The date of birth in a stored identity number, whatever its kind: a D-number's day is
    the first digit + 4 (day + 40), an H-number's month + 40, a synthetic test number's month
    + 80 (synthetic numbers are read here even where new ones are not accepted: a stored one
    was accepted when it came in). None for an FH-number (no date of birth by design) or a
    number that is not valid."""
    try:
        return parse(number, allow_synthetic=True).birth_date
    except ValidationError:
        return None


def age_on(number: str, day: datetime.date) -> int | None:
    """The age in whole years on ``day`` of the person with this identity number (a birthday
    counts from its first day; someone born on 29 February turns a year older on 1 March in
    other years). None when the number carries no date of birth."""
    born = birth_date(number)
    if born is None:
        return None
    return age_of(born, day)


def age_of(born: datetime.date, day: datetime.date) -> int:
    """Whole years from ``born`` to ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def birthday(born: datetime.date, age: int) -> datetime.date:
    """The day someone born on ``born`` turns ``age`` (29 February: 1 March in other years)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return datetime.date(born.year + age, 3, 1)
