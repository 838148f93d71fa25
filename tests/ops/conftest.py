from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from tests.sms.conftest import fake_twilio_server, twilio  # noqa: F401

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=OSLO)
