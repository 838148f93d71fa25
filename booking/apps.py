from __future__ import annotations

import functools

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Appointment booking")

    def ready(self) -> None:
        from clinics.exchange import register_section
        from clinics.selectors import annotate_patient, read_with_patient

        from .exchange import appointment_types, schedule_templates

        register_section(appointment_types)
        register_section(schedule_templates)
        # Every booking page needs the clinic's settings: read them with the patient.
        read_with_patient("clinic__booking_settings")
        # ... and how many appointments the patient holds, so that the week and urgent pages
        # say "you are at the limit" before listing times, within their query budget.
        from .selectors import HELD_ATTRIBUTE, held_count

        for urgent, attribute in HELD_ATTRIBUTE.items():
            annotate_patient(attribute, functools.partial(held_count, urgent=urgent))
