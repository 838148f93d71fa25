"""The browser harness: Playwright driving Debian's Chromium against pytest-django's live server.

Playwright's own browser download does not work in our environments, so the harness drives the
system Chromium at ``/usr/bin/chromium``. Without it the browser tests are skipped locally and
fail in CI (``CI=true``), so a CI machine that lost its browser cannot pass silently.

The ``browser`` and ``page`` fixtures are registered once, by tests/conftest.py, so browser
tests in any folder share one Playwright instance (two would clash over the event loop).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in the test thread; Django would otherwise
# refuse ORM calls from the test body ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found; install Chromium: apt-get install chromium"
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) per test, in a Norwegian locale."""
    context = browser.new_context(locale="nb-NO")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """Run axe-core on the current page; fail listing every WCAG 2.1 A/AA violation."""
    results = _axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": WCAG_TAGS},
            "resultTypes": ["violations"],
        },
    )
    violations = results.response["violations"]
    if not violations:
        return
    lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    at {node['target']}: {summary}")
    pytest.fail("\n".join(lines), pytrace=False)
