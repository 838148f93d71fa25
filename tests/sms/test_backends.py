"""The console, file and in-memory backends, and choosing a backend by setting."""

from __future__ import annotations

import io

import pytest
from django.core.checks import run_checks

import sms
from sms.backends import get_backend
from sms.backends.base import BaseSmsBackend, TemporaryError
from sms.backends.console import ConsoleBackend
from sms.backends.file import FileBackend
from sms.backends.locmem import LocMemBackend
from sms.models import OutboxMessage


def message(pk: int | None = 7, text: str = "Koden din er 123456") -> OutboxMessage:
    return OutboxMessage(pk=pk, recipient="+4791234567", text=text, purpose="login_code")


def test_get_backend_reads_the_setting_when_called(settings):
    settings.SMS_BACKEND = "sms.backends.file.FileBackend"
    assert isinstance(get_backend(), FileBackend)
    settings.SMS_BACKEND = "sms.backends.locmem.LocMemBackend"
    assert isinstance(get_backend(), LocMemBackend)
    assert isinstance(get_backend("sms.backends.console.ConsoleBackend"), ConsoleBackend)


def test_base_backend_must_be_subclassed():
    with pytest.raises(NotImplementedError):
        BaseSmsBackend().send(message())


def test_console_backend_prints_recipient_and_text():
    stream = io.StringIO()
    provider_id = ConsoleBackend(stream=stream).send(message())
    printed = stream.getvalue()
    assert "+4791234567" in printed
    assert "Koden din er 123456" in printed
    assert provider_id in printed


def test_console_backend_prints_to_stdout(capsys):
    ConsoleBackend().send(message())
    assert "Koden din er 123456" in capsys.readouterr().out


def test_locmem_backend_appends_to_the_outbox():
    first = LocMemBackend().send(message(1, "første"))
    second = LocMemBackend().send(message(2, "andre"))
    assert first != second
    assert [(m.pk, m.text, m.provider_id) for m in sms.outbox] == [
        (1, "første", first),
        (2, "andre", second),
    ]


def test_file_backend_writes_one_file_per_sms_in_time_order(settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    backend = get_backend("sms.backends.file.FileBackend")
    ids = [backend.send(message(n, f"melding {n}")) for n in range(3)]
    files = sorted((tmp_path / "sms").iterdir())
    assert [f.suffix for f in files] == [".txt"] * 3
    assert len(set(ids)) == 3
    contents = [f.read_text(encoding="utf-8") for f in files]
    for n, content in enumerate(contents):
        assert "To: +4791234567" in content
        assert f"melding {n}" in content


def test_file_backend_reports_an_unwritable_folder_as_temporary(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(TemporaryError):
        FileBackend(file_path=blocker).send(message())


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("sms.backends.console.ConsoleBackend", True),
        ("sms.backends.file.FileBackend", True),
        ("sms.backends.locmem.LocMemBackend", True),
        ("sms.backends.twilio.TwilioBackend", False),
    ],
)
def test_deploy_check_warns_about_backends_that_send_nothing(settings, backend, warned):
    settings.SMS_BACKEND = backend
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert ("sms.W001" in ids) is warned


@pytest.mark.parametrize("backend", [ConsoleBackend, LocMemBackend, FileBackend])
def test_backends_that_send_nowhere_answer_the_health_check_ok(backend, settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path)
    sms.outbox = []
    assert backend().check() == "ok"
    assert sms.outbox == []
