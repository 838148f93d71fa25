from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinics.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_GP_EMAIL,
    DEMO_GP_PRACTITIONER,
    DEMO_PATIENTS,
    demo_document,
)
from clinics.exchange import ImportFailed, import_clinic
from clinics.models import Clinic, Practitioner, User


class Command(BaseCommand):
    help = "Load (or refresh) the demo clinic DEMO and its demo administrator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--base-url",
            default="",
            help="Where the portal runs, for the links printed (make run passes its HOST and "
            "PORT); default EPORTAL_PUBLIC_BASE_URL, else http://127.0.0.1:8000.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EPORTAL_ALLOW_SYNTHETIC_IDS:
            raise CommandError(
                "The demo uses synthetic identity numbers: set EPORTAL_ALLOW_SYNTHETIC_IDS=1."
            )
        try:
            import_clinic(demo_document())
        except ImportFailed as failure:  # pragma: no cover - the demo is tested
            raise CommandError(str(failure.errors)) from None
        clinic = Clinic.objects.get(ep_ident="DEMO")
        admin, created = User.objects.get_or_create(
            email=DEMO_ADMIN_EMAIL,
            defaults={"clinic": clinic, "is_staff": True, "first_name": "Demo"},
        )
        if created:
            admin.set_password(DEMO_ADMIN_PASSWORD)
            admin.save()
        gp = Practitioner.objects.get(clinic=clinic, key=DEMO_GP_PRACTITIONER)
        doctor, created = User.objects.get_or_create(
            email=DEMO_GP_EMAIL,
            defaults={"clinic": clinic, "is_staff": True, "practitioner": gp, "first_name": "Kari"},
        )
        if created:
            doctor.set_password(DEMO_ADMIN_PASSWORD)
            doctor.save()
        host = demo_base_url(options.get("base_url") or "")
        self.stdout.write(self.style.SUCCESS("Demo clinic loaded: Demo legekontor (DEMO)"))
        self.stdout.write(f"  Patient link:  {host}/Login.aspx?ClinicId=DEMO")
        self.stdout.write(f"  Admin site:    {host}/admin/")
        self.stdout.write(f"  Demo admin:    {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        self.stdout.write(f"  Demo GP:       {DEMO_GP_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        self.stdout.write(f"  GP's inbox:    {host}/admin/econsult/inbox/")
        self.stdout.write("  Demo patients (synthetic identity numbers):")
        for name, nid, mobile, active, plist in DEMO_PATIENTS:
            notes = []
            if not plist:
                notes.append("no GP at the clinic")
            if not mobile:
                notes.append("no mobile number")
            if not active:
                notes.append("inactive record")
            suffix = f"  ({', '.join(notes)})" if notes else ""
            self.stdout.write(f"    {nid}  {name}{suffix}")


def demo_base_url(given: str) -> str:
    """The base of the printed links: ``given``, else ``EPORTAL_PUBLIC_BASE_URL``, else
    ``make run``'s default. A wildcard address (``HOST=0.0.0.0``) is not one a browser
    opens: the links name this machine's loopback address instead."""
    base = (given or settings.EPORTAL_PUBLIC_BASE_URL or "http://127.0.0.1:8000").rstrip("/")
    for wildcard in ("//0.0.0.0", "//[::]"):
        base = base.replace(wildcard, "//127.0.0.1" if "." in wildcard else "//[::1]")
    return base
