"""Writes for booking, by topic; import them from here.

- :mod:`.slots`: the timebook: slots made from the schedule templates, blocked slots;
- :mod:`.schedule`: what the timebook is laid out with: schedule templates, absences, closed
  days, booking settings (the admin and the import call these);
- :mod:`.appointments`: booking, moving and cancelling;
- :mod:`.waitlist`: the waitlist for an earlier time: joining, the offer sweep, answering;
- :mod:`.reminders`: the day-before reminders;
- :mod:`.notices`: the SMS a patient gets about an appointment.
"""

from __future__ import annotations

from .appointments import (
    BookingError,
    CancelTooLate,
    LimitReached,
    NotMovable,
    OfferGone,
    SlotTaken,
    SlotUnavailable,
    appointment_book,
    appointment_cancel,
    appointment_move,
    cancel_deadline,
)
from .reminders import REMINDER_WINDOW, reminders_send
from .schedule import (
    TEMPLATE_START_TAKEN,
    absence_delete,
    absence_save,
    absences_delete,
    appointment_type_save,
    booking_settings_save,
    clinic_slots_regenerate_later,
    practitioner_templates_replace,
    schedule_template_save,
    schedule_template_start_taken,
)
from .slots import (
    GenerationResult,
    SlotRefused,
    absence_changed,
    expand_templates,
    practitioner_day_set_blocked,
    slot_create,
    slot_delete,
    slot_update,
    slots_generate,
    slots_generate_all,
    slots_regenerate_later,
    slots_set_blocked,
)
from .waitlist import (
    AlreadyWaiting,
    BadUntil,
    NotOffered,
    WaitlistError,
    offer_accept,
    offer_decline,
    offers_sweep,
    waitlist_join,
    waitlist_leave,
)

__all__ = [
    "REMINDER_WINDOW",
    "TEMPLATE_START_TAKEN",
    "AlreadyWaiting",
    "BadUntil",
    "BookingError",
    "CancelTooLate",
    "GenerationResult",
    "LimitReached",
    "NotMovable",
    "NotOffered",
    "OfferGone",
    "SlotRefused",
    "SlotTaken",
    "SlotUnavailable",
    "WaitlistError",
    "absence_changed",
    "absence_delete",
    "absence_save",
    "absences_delete",
    "appointment_book",
    "appointment_cancel",
    "appointment_move",
    "appointment_type_save",
    "booking_settings_save",
    "cancel_deadline",
    "clinic_slots_regenerate_later",
    "expand_templates",
    "offer_accept",
    "offer_decline",
    "offers_sweep",
    "practitioner_day_set_blocked",
    "practitioner_templates_replace",
    "reminders_send",
    "schedule_template_save",
    "schedule_template_start_taken",
    "slot_create",
    "slot_delete",
    "slot_update",
    "slots_generate",
    "slots_generate_all",
    "slots_regenerate_later",
    "slots_set_blocked",
    "waitlist_join",
    "waitlist_leave",
]
