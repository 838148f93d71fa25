from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ops.services import health_cycle_run


class Command(BaseCommand):
    help = "Run today's health cycle now (it runs by itself at 05:00 and only once a day)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--again",
            action="store_true",
            help="Replace today's finished cycle, e.g. after fixing what made it fail.",
        )

    def handle(self, *args: Any, again: bool = False, **options: Any) -> None:
        cycle = health_cycle_run(again=again)
        if cycle is None:
            self.stdout.write("Today's cycle has already run (use --again to run it again).")
            return
        for step in cycle.steps.all():
            mark = "ok    " if step.ok else "FAILED"
            self.stdout.write(f"{mark} {step.name:<15} {step.duration_ms:>6} ms  {step.detail}")
        self.stdout.write(f"cycle {cycle.day}: {cycle.status}")
        if cycle.status != cycle.Status.OK:
            raise SystemExit(1)
