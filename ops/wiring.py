"""The one module of ``ops`` that imports the other apps: what the health cycle and the
monitoring page use of them. When a function moves, its import changes here and nowhere else
(tests/test_architecture.py holds ``ops`` to that)."""

from __future__ import annotations

from booking.services import slots_generate_all
from clinics.admin_base import is_clinic_staff, staff_clinic_id
from clinics.dates import short_day_and_month
from identification.services import purge_old_events
from sms.backends import get_backend as get_sms_backend
from sms.backends.base import SmsError
from sms.selectors import daily_status_counts as sms_daily_status_counts
from sms.services import sms_recover_stale

__all__ = [
    "SmsError",
    "get_sms_backend",
    "is_clinic_staff",
    "purge_old_events",
    "short_day_and_month",
    "slots_generate_all",
    "sms_daily_status_counts",
    "sms_recover_stale",
    "staff_clinic_id",
]
