"""Writes each SMS to its own text file in ``SMS_FILE_PATH``: for black-box tests and demos.

File names start with the UTC time to the microsecond, so they sort in the order sent. Each
file is written under a temporary name and then renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from .base import BaseSmsBackend, TemporaryError

if TYPE_CHECKING:
    from sms.models import OutboxMessage


class FileBackend(BaseSmsBackend):
    def __init__(self, *, file_path: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_path = Path(file_path or settings.SMS_FILE_PATH)

    def send(self, message: OutboxMessage) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{message.pk or 0}-{uuid.uuid4().hex[:8]}"
        body = f"To: {message.recipient}\nPurpose: {message.purpose}\n\n{message.text}\n"
        try:
            self.file_path.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = self.file_path / f".{name}.tmp"
            partial.write_text(body, encoding="utf-8")
            os.replace(partial, self.file_path / f"{name}.txt")
        except OSError as error:
            raise TemporaryError(f"cannot write SMS file: {type(error).__name__}") from error
        return f"file-{name}"
