from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Appointment booking")

    def ready(self) -> None:
        from clinics.exchange import register_section
        from clinics.selectors import read_with_patient

        from .exchange import appointment_types, schedule_templates

        register_section(appointment_types)
        register_section(schedule_templates)
        # Every booking page needs the clinic's settings: read them with the patient.
        read_with_patient("clinic__booking_settings")
