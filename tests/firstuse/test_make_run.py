"""Item 11 of issue #16: what ``make run`` prints and serves on a first try."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def demo_output(settings, **options) -> str:
    settings.EPORTAL_ALLOW_SYNTHETIC_IDS = True
    settings.EPORTAL_PUBLIC_BASE_URL = ""
    out = io.StringIO()
    call_command("loaddemo", stdout=out, **options)
    return out.getvalue()


def test_loaddemo_prints_links_on_the_port_make_run_serves(settings):
    out = demo_output(settings, base_url="http://127.0.0.1:8123")
    assert "http://127.0.0.1:8123/Login.aspx?ClinicId=DEMO" in out
    assert "http://127.0.0.1:8123/admin/" in out
    assert ":8000" not in out


def test_loaddemo_on_every_interface_prints_a_link_a_browser_opens(settings):
    out = demo_output(settings, base_url="http://0.0.0.0:8080")
    assert "http://127.0.0.1:8080/admin/" in out
    assert "0.0.0.0" not in out  # noqa: S104 - a string in the output, not a bind


def test_make_run_passes_host_and_port_to_loaddemo():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "loaddemo --base-url=http://$(HOST):$(PORT)" in makefile


def test_no_favicon_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_readme_says_what_make_run_takes():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for variable in ("PORT=", "HOST=", "DATABASE_URL="):
        assert f"make run {variable}" in readme or f"make run HOST=0.0.0.0 {variable}" in readme
    assert "not built yet" not in readme
