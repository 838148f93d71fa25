from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.exchange import dumps, export_clinic
from clinics.models import Clinic


class Command(BaseCommand):
    help = "Export a clinic in the eportal-clinic/1 exchange format (stable, diffable JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ep_ident", help="The clinic's EP identifier.")
        parser.add_argument("-o", "--output", help="Write to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Clinic.objects.filter(ep_ident__iexact=options["ep_ident"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with EP identifier {options['ep_ident']!r}.")
        text = dumps(export_clinic(clinic))
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        else:
            self.stdout.write(text, ending="")
