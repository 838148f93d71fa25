"""Attachments: the type is decided from the content; anything else is refused, nothing kept."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from econsult.files import check_upload, check_uploads, display_name
from econsult.models import MAX_ATTACHMENT_BYTES

from .conftest import upload
from .samples import ELF, EXE, HEIC, JPEG, PDF, PNG


@pytest.mark.parametrize(
    ("data", "mime", "extension"),
    [
        (PNG, "image/png", "png"),
        (JPEG, "image/jpeg", "jpg"),
        (PDF, "application/pdf", "pdf"),
        (HEIC, "image/heic", "heic"),
    ],
)
def test_allowed_types_are_recognised_by_content(data, mime, extension):
    # The name and the browser's header say something else: neither counts.
    checked = check_upload(upload("scan.txt", data, content_type="text/html"))
    assert checked.content_type == mime
    assert checked.name == f"scan.{extension}"


@pytest.mark.parametrize("data", [EXE, ELF, b"just text", b"<html><script>alert(1)</script>"])
def test_a_renamed_program_or_text_is_refused(data):
    with pytest.raises(ValidationError) as raised:
        check_upload(upload("ferie.jpg", data, content_type="image/jpeg"))
    assert raised.value.code == "type"
    assert "ferie.jpg" in raised.value.messages[0]


@pytest.mark.parametrize(
    "data",
    [
        PNG + b"<script>alert(1)</script>",
        JPEG + b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 20 + b"PK\x05\x06",
        PNG + b"%PDF-1.4 hidden document",
        PDF.replace(
            b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>"
        ),
        PDF + b"<html><body>hi</body></html>",
    ],
    ids=["png+html", "jpeg+zip", "png+pdf", "pdf+javascript", "pdf+html"],
)
def test_polyglots_are_refused(data):
    with pytest.raises(ValidationError) as raised:
        check_upload(upload("x.png", data))
    assert raised.value.code == "polyglot"


def test_oversize_and_empty_files_are_refused():
    with pytest.raises(ValidationError) as raised:
        check_upload(upload("stor.png", PNG + b"\x00" * MAX_ATTACHMENT_BYTES))
    assert raised.value.code == "too_large"
    with pytest.raises(ValidationError) as raised:
        check_upload(upload("tom.png", b""))
    assert raised.value.code == "empty"


def test_at_most_three_files():
    assert len(check_uploads([upload(f"{n}.png", PNG) for n in range(3)])) == 3
    with pytest.raises(ValidationError) as raised:
        check_uploads([upload(f"{n}.png", PNG) for n in range(4)])
    assert raised.value.code == "too_many"


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as raised:
        check_uploads([upload("a.png", EXE), upload("b.png", PNG), upload("c.png", ELF)])
    assert len(raised.value.messages) == 2


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\kari\\bilde.JPG", "bilde.png"),
        ("a\x00b\x1fc.png", "abc.png"),
        ("...", "vedlegg.png"),  # the default language's word
        ("x" * 300 + ".exe", "x" * 100 + ".png"),
    ],
)
def test_display_names_lose_folders_and_control_characters(given, expected):
    assert display_name(given, "png") == expected
