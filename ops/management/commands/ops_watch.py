from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from ops.services import incidents_check


class Command(BaseCommand):
    help = (
        "Check for incidents (no heartbeat, a failed cycle) and e-mail staff; with --every, "
        "keep checking. Beat also runs the check, but through the worker: this one does not "
        "need the broker or a worker, so it notices when they are down."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="Seconds between checks.")

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        while True:
            incidents_check()
            if every <= 0:
                return
            time.sleep(every)
            close_old_connections()  # as Django does between requests
