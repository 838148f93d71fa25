"""Identity numbers (clinics.national_id) and mobile numbers (clinics.phones).

Every number here is synthetic (month + 80) except where a kind has no synthetic form:
FH-numbers carry no date at all, and H-numbers (month + 40) cannot also take the + 80.
Help numbers identify nobody outside the health service that issued them.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from clinics import national_id, phones
from clinics.national_id import IdKind

BIRTH = datetime.date(1985, 3, 14)


def with_check_digits(first_nine: str) -> str:
    """Complete nine digits with both mod-11 check digits (None if a digit would be 10)."""
    d1 = fodselsnummer.calc_check_digit1(first_nine)
    d2 = fodselsnummer.calc_check_digit2(first_nine + d1)
    if len(d1) != 1 or len(d2) != 1:
        return ""
    return first_nine + d1 + d2


def first_complete(prefix: str) -> str:
    """The first individual number that gives single-digit check digits after ``prefix``."""
    for serial in range(100, 500):
        number = with_check_digits(f"{prefix}{serial:03d}")
        if number:
            return number
    raise AssertionError("no serial fits")  # pragma: no cover


def error_of(raw: str, **kwargs: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        national_id.parse(raw, **kwargs)
    return info.value


@pytest.fixture(autouse=True)
def _synthetic_allowed(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = True


# Classification


def test_ordinary_synthetic_number_is_a_national_identity_number():
    number = national_id.make(BIRTH)
    parsed = national_id.parse(number)
    assert parsed.value == number
    assert parsed.kind == IdKind.FNR
    assert parsed.synthetic is True
    assert parsed.birth_date == BIRTH
    assert parsed.can_log_in


def test_number_with_spaces_is_compacted():
    number = national_id.make(BIRTH)
    assert national_id.parse(f"{number[:6]} {number[6:]}").value == number


def test_d_number_has_first_digit_plus_four():
    number = national_id.make(BIRTH, kind="dnr")
    assert int(number[0]) >= 4
    parsed = national_id.parse(number)
    assert parsed.kind == IdKind.DNR
    assert parsed.birth_date == BIRTH
    assert parsed.can_log_in


def test_h_number_has_third_digit_plus_four_and_cannot_log_in():
    number = national_id.make(BIRTH, kind="hnr", synthetic=False)
    assert int(number[2]) >= 4
    parsed = national_id.parse(number)
    assert parsed.kind == IdKind.HNR
    assert parsed.birth_date == BIRTH
    assert not parsed.can_log_in


@pytest.mark.parametrize("first_digit", ["8", "9"])
def test_fh_number_starts_with_eight_or_nine_and_cannot_log_in(first_digit):
    number = first_complete(first_digit + "12345")
    parsed = national_id.parse(number)
    assert parsed.kind == IdKind.FHNR
    assert parsed.birth_date is None
    assert not parsed.can_log_in


def test_classify_agrees_with_parse():
    assert national_id.classify(national_id.make(BIRTH)) == IdKind.FNR
    assert national_id.classify(national_id.make(BIRTH, kind="dnr")) == IdKind.DNR
    assert national_id.classify(national_id.make(BIRTH, kind="hnr", synthetic=False)) == IdKind.HNR
    assert national_id.classify(national_id.make(BIRTH, kind="fhnr")) == IdKind.FHNR
    assert national_id.classify("garbage") == IdKind.FHNR  # unknown shapes never log in


def test_make_refuses_a_synthetic_h_number():
    # month + 40 + 80 would not fit in two digits
    with pytest.raises(ValueError, match="synthetic"):
        national_id.make(BIRTH, kind="hnr", synthetic=True)


def test_make_encodes_the_nineteenth_century():
    born = datetime.date(1890, 6, 1)
    assert national_id.parse(national_id.make(born)).birth_date == born


# Synthetic numbers and the setting


def test_synthetic_number_is_refused_when_the_setting_is_off(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = False
    error = error_of(national_id.make(BIRTH))
    assert error.code == "synthetic"
    with translation.override("en"):  # the UI default is bokmål
        assert "synthetic" in error.messages[0]


def test_synthetic_number_is_accepted_when_the_setting_is_on(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = True
    assert national_id.parse(national_id.make(BIRTH)).synthetic


def test_explicit_allow_synthetic_overrides_the_setting(settings):
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = True
    assert error_of(national_id.make(BIRTH), allow_synthetic=False).code == "synthetic"


def test_field_validator_follows_the_setting(settings):
    number = national_id.make(BIRTH)
    national_id.validate_national_id(number)
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = False
    with pytest.raises(ValidationError):
        national_id.validate_national_id(number)


# Each failure has its own code and message


def _wrong_digit(digit: str) -> str:
    return str((int(digit) + 1) % 10)


def _failures() -> dict[str, str]:
    good = national_id.make(BIRTH)
    both_check_digits_ok = with_check_digits(good[:9])
    assert both_check_digits_ok == good
    feb31 = first_complete("3182" + "85")  # 31 February 1985, synthetic month
    future_birth = datetime.date.today() + datetime.timedelta(days=60)
    return {
        "format": good[:5] + "x" + good[6:],
        "length": good[:10],
        "checksum-first": good[:9] + _wrong_digit(good[9]) + good[10],
        "checksum-second": good[:10] + _wrong_digit(good[10]),
        "date": feb31,
        "future": national_id.make(future_birth),
    }


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ("format", "format"),
        ("length", "length"),
        ("checksum-first", "checksum"),
        ("checksum-second", "checksum"),
        ("date", "date"),
        ("future", "future"),
    ],
)
def test_each_failure_has_its_own_code(failure, code):
    error = error_of(_failures()[failure])
    assert error.code == code
    assert error.messages and error.messages[0]


def test_failure_messages_differ_from_one_another(settings):
    failures = _failures()
    messages = {name: error_of(raw).messages[0] for name, raw in failures.items()}
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = False
    messages["synthetic"] = error_of(national_id.make(BIRTH)).messages[0]
    distinct = set(messages.values())
    # the two check-digit failures share one message; every other failure has its own
    assert messages["checksum-first"] == messages["checksum-second"]
    assert len(distinct) == len(messages) - 1


def test_length_message_says_how_many_digits():
    assert "10" in error_of(national_id.make(BIRTH)[:10]).messages[0]


@pytest.mark.parametrize("raw", ["", "   ", "٠١٠١٨٠١٢٣٤٥", "1985-03-14"])
def test_empty_and_non_ascii_digits_are_refused(raw):
    assert error_of(raw).code in {"format", "length"}


def test_full_width_digits_are_read_as_ascii_digits():
    number = national_id.make(BIRTH)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert national_id.parse(full_width).value == number


def test_mask_shows_the_birth_date_part_only():
    number = national_id.make(BIRTH)
    masked = national_id.mask(number)
    assert masked.startswith(number[:6])
    assert number[6:] not in masked
    assert national_id.mask("123") == "***"


# Property: make() and parse() agree


@given(
    born=st.dates(min_value=datetime.date(1854, 1, 1), max_value=datetime.date.today()),
    individual=st.integers(min_value=0, max_value=999),
    kind=st.sampled_from(["fnr", "dnr"]),
)
def test_made_number_parses_back_to_its_birth_date(born, individual, kind):
    number = national_id.make(born, individual, kind=kind)
    parsed = national_id.parse(number, allow_synthetic=True)
    assert parsed.birth_date == born
    assert parsed.kind == kind
    assert parsed.synthetic
    assert national_id.classify(number) == parsed.kind


@given(
    born=st.dates(min_value=datetime.date(1854, 1, 1), max_value=datetime.date.today()),
    individual=st.integers(min_value=0, max_value=999),
)
def test_made_h_number_parses_back_to_its_birth_date(born, individual):
    number = national_id.make(born, individual, kind="hnr", synthetic=False)
    parsed = national_id.parse(number, allow_synthetic=False)
    assert parsed.birth_date == born
    assert parsed.kind == IdKind.HNR


# Mobile numbers


@pytest.mark.parametrize(
    "raw",
    ["41234567", "412 34 567", "+47 412 34 567", "0047 41234567", "+4741234567", " 41234567 "],
)
def test_norwegian_mobile_is_stored_in_e164(raw):
    assert phones.normalise_mobile(raw) == "+4741234567"


def test_mobile_starting_with_nine():
    assert phones.normalise_mobile("92 34 56 78") == "+4792345678"


@pytest.mark.parametrize("raw", ["22 12 34 56", "+47 22123456"])
def test_landline_is_refused(raw):
    with pytest.raises(ValidationError) as info:
        phones.normalise_mobile(raw)
    assert info.value.code == "not_mobile"


@pytest.mark.parametrize("raw", ["hello", "123", "4123456789012345", "59 12 34 56", "+47"])
def test_garbage_is_refused(raw):
    with pytest.raises(ValidationError) as info:
        phones.normalise_mobile(raw)
    assert info.value.code == "invalid"


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_mobile_is_empty(raw):
    assert phones.normalise_mobile(raw) == ""


def test_last_digits():
    assert phones.last_digits("+4741234567") == "567"
    assert phones.last_digits("") == ""
