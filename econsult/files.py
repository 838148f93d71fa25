"""What an attachment is, decided from its content alone.

The name a patient gives a file and the type their browser claims are both theirs to choose,
so neither decides anything: ``filetype`` reads the file's magic numbers (a small, pure-Python
library with no libmagic to install, which knows HEIC), and only JPEG, PNG, PDF and HEIC pass.
A file that is also something else (a *polyglot*: an image with HTML or a ZIP archive inside,
a PDF that runs JavaScript or launches programs) is refused too: it could be opened as that
other thing by whoever downloads it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]  # no type hints shipped
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from .models import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS

#: The types patients may send: MIME type -> the extension the download gets.
ALLOWED = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/pdf": "pdf",
    "image/heic": "heic",
}

# Markers of a second format inside a file: markup a browser would run, archives, programs.
_MARKUP = re.compile(rb"<\s*(?:script|html|svg|iframe|object|embed|body|\?php)\b|<!doctype", re.I)
_ARCHIVE = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    content_type: str
    name: str
    size: int


def _read(upload: UploadedFile) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _is_polyglot(data: bytes, content_type: str) -> bool:
    if _MARKUP.search(data):
        return True
    if any(marker in data for marker in _ARCHIVE):
        return True
    if content_type == "application/pdf":
        return bool(_PDF_ACTIVE.search(data))
    # An image with a PDF inside.
    return b"%PDF-" in data


def clean_name(name: str) -> str:
    """The patient's file name without folders or control characters (shown escaped)."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")[:150]


def display_name(name: str, extension: str) -> str:
    """The patient's file name made safe to show and to offer as a download name: no folder,
    no control characters, at most 100 characters, and the extension of its real type."""
    name = clean_name(name)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem[:100].strip(" .") or _("attachment")
    return f"{stem}.{extension}"


def check_upload(upload: UploadedFile) -> CheckedFile:
    """The file, if it may be attached; else a ValidationError saying why (and naming the
    file, which the form shows escaped)."""
    shown = clean_name(upload.name or "") or _("attachment")
    if upload.size is None or upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            _("%(name)s is larger than %(mb)s MB.")
            % {"name": shown, "mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)},
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": shown}, code="empty")
    data = _read(upload)
    kind = filetype.guess(data[:8192])
    content_type = kind.mime if kind is not None else ""
    if content_type not in ALLOWED:
        raise ValidationError(
            _("%(name)s is not a picture (JPEG, PNG, HEIC) or a PDF document.") % {"name": shown},
            code="type",
        )
    if _is_polyglot(data, content_type):
        raise ValidationError(
            _("%(name)s cannot be sent: it contains more than a picture or a document.")
            % {"name": shown},
            code="polyglot",
        )
    return CheckedFile(
        upload=upload,
        content_type=content_type,
        name=display_name(upload.name or "", ALLOWED[content_type]),
        size=len(data),
    )


def check_uploads(uploads: list[UploadedFile]) -> list[CheckedFile]:
    """Every file checked, or a ValidationError with every problem (nothing is kept then)."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError(
            _("You can attach at most %(count)s files.") % {"count": MAX_ATTACHMENTS},
            code="too_many",
        )
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append(check_upload(upload))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    return checked
