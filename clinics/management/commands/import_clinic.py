from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinics.exchange import ImportFailed, import_clinic


class Command(BaseCommand):
    help = "Import a clinic from a JSON file in the eportal-clinic/1 exchange format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path to the JSON file ('-' for standard input).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            if path == "-":
                import sys

                data = json.load(sys.stdin)
            else:
                with open(path, encoding="utf-8") as fh:
                    data = json.load(fh)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CommandError(f"{path} is not valid JSON: {error}") from None
        try:
            stats = import_clinic(data)
        except ImportFailed as failure:
            for place, message in failure.errors:
                self.stderr.write(f"{place}: {message}")
            raise CommandError(
                f"{len(failure.errors)} error(s) in {path}; nothing was imported."
            ) from None
        summary = ", ".join(f"{n} {what}" for what, n in sorted(stats.items())) or "no changes"
        self.stdout.write(self.style.SUCCESS(f"Imported {path}: {summary}."))
