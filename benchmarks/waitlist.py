"""The waitlist simulation (docs/benchmarks.md, "Waitlist: a clinic-month"):
``python -m benchmarks.waitlist`` (options: ``--help``).

A clinic-month on a simulated clock, through the real services on a scratch PostgreSQL
database: practitioners with 20-minute slots on weekdays, most of them booked; patients
with a booking weeks ahead wait for an earlier time, a few without one. Every working day
some bookings are cancelled at random times of the day (and evening); the beat's sweep runs
every ``--step`` minutes; a patient offered a time answers within the hold (takes it or
declines) or not at all. Reported: the share of freed slots re-filled through the waitlist,
the median days gained by a moved booking, what became of the offers, and the sweep's cost.

The scratch database is created, migrated and dropped; only 127.0.0.1 is contacted; every
loop is bounded by the simulated month.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.run import HOST, SECRET_KEY, create_database, drop_database

OSLO = ZoneInfo("Europe/Oslo")
#: The first simulated day: a Monday.
START = datetime.date(2027, 3, 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--practitioners", type=int, default=5)
    parser.add_argument("--days", type=int, default=28, help="simulated days (a month)")
    parser.add_argument("--booked", type=float, default=0.97, help="share of slots booked")
    parser.add_argument("--waiting", type=int, default=150, help="patients moving a booking")
    parser.add_argument("--waiting-new", type=int, default=30, help="patients without one")
    parser.add_argument("--joins", type=int, default=8, help="new waiting patients a weekday")
    parser.add_argument("--cancels", type=int, default=12, help="cancellations per weekday")
    parser.add_argument("--answer", type=float, default=0.7, help="share who answer in time")
    parser.add_argument("--take", type=float, default=0.85, help="of those, share who accept")
    parser.add_argument("--step", type=int, default=5, help="minutes between sweeps")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--db", default="eportal_waitlist_sim")
    parser.add_argument("--pg", default=f"postgres://postgres@{HOST}:5432", help="server URL")
    return parser.parse_args(argv)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=OSLO)


@dataclass
class Tally:
    freed: dict[int, datetime.datetime] = field(default_factory=dict)  # slot id -> freed at
    refilled: set[int] = field(default_factory=set)
    gained_days: list[float] = field(default_factory=list)
    new_bookings: int = 0
    offers: int = 0
    accepted: int = 0
    declined: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    night_offers: int = 0
    sweep_ms: list[float] = field(default_factory=list)
    #: Queries of a sweep that offered nothing, and the extra queries per offer made.
    sweep_queries: list[int] = field(default_factory=list)
    idle_queries: int = 3
    per_offer: set[int] = field(default_factory=set)


def build(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """The clinic: practitioners, ten weeks of slots, most booked, and the waitlist."""
    from booking import services
    from booking.models import Appointment, AppointmentType, BookingSettings, Slot
    from clinics.models import Clinic, Patient, PatientList, Practitioner
    from clinics.national_id import make as make_national_id
    from delegation.models import Service
    from delegation.services import service_matrix_save

    clinic = Clinic.objects.create(ep_ident="SIM1", name="Simulert legekontor", phone="+4722000000")
    BookingSettings.objects.create(clinic=clinic, horizon_weeks=10)
    ep = AppointmentType.objects.create(
        clinic=clinic, key="ep", name="ePortal", minutes=20, online=True
    )
    doctors = [
        Practitioner.objects.create(
            clinic=clinic, name=f"Lege {n}", key=f"p{n}", eportal_enabled=True
        )
        for n in range(args.practitioners)
    ]
    lists = [
        PatientList.objects.create(clinic=clinic, gp=d, key=f"l{n}", name=f"Liste {n}")
        for n, d in enumerate(doctors)
    ]
    # Every list may book its own GP and one colleague.
    service_matrix_save(
        clinic=clinic,
        service=Service.BOOKING,
        cells=[(pl.pk, d.pk) for pl, d in zip(lists, doctors, strict=True)]
        + [(pl.pk, doctors[(n + 1) % len(doctors)].pk) for n, pl in enumerate(lists)],
    )
    slots = []
    for offset in range(70):
        day = START + datetime.timedelta(days=offset)
        if day.isoweekday() > 5:
            continue
        for d in doctors:
            for k in range(23):  # 08:00-15:40
                start = at(day, 8) + datetime.timedelta(minutes=20 * k)
                slots.append(
                    Slot(
                        practitioner=d,
                        appointment_type=ep,
                        start=start,
                        end=start + datetime.timedelta(minutes=20),
                    )
                )
    Slot.objects.bulk_create(slots, batch_size=1000)
    slots = list(Slot.objects.order_by("start", "pk"))
    booked = [s for s in slots if rng.random() < args.booked]
    patients = Patient.objects.bulk_create(
        [
            Patient(
                clinic=clinic,
                name=f"Pasient {n}",
                national_id=make_national_id(
                    datetime.date(1950 + n % 50, n % 12 + 1, n % 28 + 1),
                    individual=100 + n % 390,
                    synthetic=True,
                ),
                mobile=f"+4740{n:06d}",
                patient_list=lists[n % len(lists)],
            )
            for n in range(len(booked) + args.waiting_new)
        ],
        batch_size=1000,
    )
    gp_of = {pl.pk: pl.gp_id for pl in lists}
    # Each booked slot to a patient of the slot's practitioner's list (their own GP).
    pool: dict[int, list[Patient]] = {}
    for p in patients[: len(booked)]:
        pool.setdefault(gp_of[p.patient_list_id], []).append(p)
    appointments = []
    for s in booked:
        candidates = pool.get(s.practitioner_id) or []
        if not candidates:
            continue
        p = candidates.pop()
        appointments.append(
            Appointment(
                slot=s,
                patient=p,
                practitioner_id=s.practitioner_id,
                start=s.start,
                end=s.end,
                reason="Kontroll",
            )
        )
    Appointment.objects.bulk_create(appointments, batch_size=1000)
    now = at(START, 7)
    later = [
        a
        for a in Appointment.objects.select_related("patient__clinic__booking_settings")
        if a.start >= now + datetime.timedelta(days=14)
    ]
    rng.shuffle(later)
    windows = [(8, 12), (12, 16), (8, 16), (8, 16)]
    joined = 0

    def join(patient: Any, appointment: Any | None, until: datetime.date) -> None:
        own = gp_of[patient.patient_list_id]
        colleague = doctors[
            (doctors.index(next(d for d in doctors if d.pk == own)) + 1) % len(doctors)
        ].pk
        chosen = [own] if rng.random() < 0.6 else [own, colleague]
        days = sorted(rng.sample(range(1, 6), rng.randint(2, 5)))
        start, stop = rng.choice(windows)
        services.waitlist_join(
            patient=patient,
            practitioner_ids=chosen,
            weekdays=days,
            time_from=datetime.time(start),
            time_to=datetime.time(stop),
            until=until,
            appointment_id=appointment.pk if appointment else None,
            reason="Kontroll",
            now=now,
        )

    for a in later[: args.waiting]:
        until = a.start.astimezone(OSLO).date() - datetime.timedelta(days=1)
        join(a.patient, a, until)
        joined += 1
    last_day = START + datetime.timedelta(weeks=10) - datetime.timedelta(days=1)
    for p in Patient.objects.select_related("clinic__booking_settings").order_by("-pk")[
        : args.waiting_new
    ]:
        join(p, None, min(last_day, START + datetime.timedelta(days=rng.randint(7, 35))))
        joined += 1

    def join_more(day: datetime.date, count: int) -> int:
        """Patients with a booking two weeks or more ahead ask for an earlier time."""
        from booking.models import WaitlistEntry

        nonlocal now
        now = at(day, rng.randint(8, 20))
        waiting = set(
            WaitlistEntry.objects.exclude(appointment=None).values_list("appointment_id", flat=True)
        )
        pool = list(
            Appointment.objects.filter(
                status="booked", urgent=False, start__gte=now + datetime.timedelta(days=14)
            )
            .exclude(pk__in=waiting)
            .select_related("patient__clinic__booking_settings")[:500]
        )
        for a in rng.sample(pool, min(count, len(pool))):
            join(a.patient, a, a.start.astimezone(OSLO).date() - datetime.timedelta(days=1))
        return min(count, len(pool))

    return {
        "clinic": clinic,
        "joined": joined,
        "slots": len(slots),
        "booked": len(appointments),
        "join_more": join_more,
    }


def simulate(args: argparse.Namespace, rng: random.Random) -> tuple[Tally, dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from booking import services
    from booking.models import Appointment, SlotOffer
    from booking.selectors import offers_allowed_at
    from booking.services import slots as slot_services

    # The simulation is the beat: the sweep runs on its clock, not from a task queue.
    slot_services._enqueue_offers_sweep = lambda: None  # type: ignore[assignment]

    world = build(args, rng)
    tally = Tally()
    answers: dict[int, tuple[datetime.datetime, str]] = {}  # offer id -> (when, what)
    seen: set[int] = set()
    step = datetime.timedelta(minutes=args.step)
    for offset in range(args.days):
        day = START + datetime.timedelta(days=offset)
        cancels: list[datetime.datetime] = []
        if day.isoweekday() <= 5 and offset:
            world["joined"] += world["join_more"](day, args.joins)
        if day.isoweekday() <= 5:
            # Cancellations from 07:00 to 23:00, a few in the evening (after the offer hours).
            cancels = sorted(
                at(day, 7) + datetime.timedelta(minutes=rng.randrange(16 * 60))
                for _ in range(args.cancels)
            )
        now = at(day, 0)
        end = at(day, 23, 59)
        while now <= end:
            while cancels and cancels[0] <= now:
                cancels.pop(0)
                upcoming = list(
                    Appointment.objects.filter(
                        status="booked",
                        start__gte=now + datetime.timedelta(hours=3),
                        start__lt=now + datetime.timedelta(days=28),
                    ).values_list("pk", "slot_id")[:2000]
                )
                if upcoming:
                    pk, slot_id = rng.choice(upcoming)
                    services.appointment_cancel(appointment_id=pk, by_staff=True, now=now)
                    tally.freed[slot_id] = now
            for offer_id, (when, what) in sorted(answers.items()):
                if when > now:
                    continue
                del answers[offer_id]
                offer = SlotOffer.objects.select_related("patient__clinic__booking_settings").get(
                    pk=offer_id
                )
                if what == "decline":
                    services.offer_decline(patient=offer.patient, offer_id=offer_id)
                    tally.declined += 1
                    continue
                old = offer.entry.appointment
                old_start = old.start if old is not None else None
                old_slot = old.slot_id if old is not None else None
                try:
                    booked = services.offer_accept(
                        patient=offer.patient, offer_id=offer_id, now=now
                    )
                except services.BookingError as error:
                    tally.refused[error.code] = tally.refused.get(error.code, 0) + 1
                    continue
                tally.accepted += 1
                if offer.slot_id in tally.freed:
                    tally.refilled.add(offer.slot_id)
                if old_start is not None:
                    tally.gained_days.append((old_start - booked.start).total_seconds() / 86400)
                    if old_slot is not None:
                        tally.freed[old_slot] = now  # freed by the move, offered on
                else:
                    tally.new_bookings += 1
            connection.queries_log.clear()  # its cap (9,000) would cut the count short
            with CaptureQueriesContext(connection) as ctx:
                began = time.perf_counter()
                made = services.offers_sweep(now=now)
                tally.sweep_ms.append((time.perf_counter() - began) * 1000)
            queries = len(ctx.captured_queries)
            if made:
                tally.per_offer.add((queries - tally.idle_queries) // made)
            else:
                tally.idle_queries = queries
                tally.sweep_queries.append(queries)
            if made:
                tally.offers += made
                if not offers_allowed_at(now):
                    tally.night_offers += made
                for offer_id in SlotOffer.objects.filter(status="offered").values_list(
                    "pk", flat=True
                ):
                    if offer_id in seen:
                        continue
                    seen.add(offer_id)
                    if rng.random() < args.answer:  # else: no answer, the hold runs out
                        # Within the hold, also after the sweep step that follows.
                        delay = datetime.timedelta(minutes=rng.randint(1, 9))
                        what = "accept" if rng.random() < args.take else "decline"
                        answers[offer_id] = (now + delay, what)
            now += step
    world["expired"] = SlotOffer.objects.filter(status="expired").count()
    world["doubles"] = _double_bookings()
    return tally, world


def _double_bookings() -> int:
    from django.db.models import Count

    from booking.models import Appointment

    return (
        Appointment.objects.filter(status="booked")
        .values("slot_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )


def report(args: argparse.Namespace, tally: Tally, world: dict[str, Any]) -> str:
    freed = len(tally.freed)
    share = len(tally.refilled) / freed if freed else 0.0
    gained = statistics.median(tally.gained_days) if tally.gained_days else 0.0
    reads = sorted(set(tally.sweep_queries))
    rows = [
        ("slots (10 weeks)", f"{world['slots']:,}"),
        ("booked at the start", f"{world['booked']:,}"),
        (
            "waiting at the start (moving a booking / without)",
            f"{args.waiting} / {args.waiting_new}",
        ),
        ("joined in all (new ones each weekday)", f"{world['joined']}"),
        ("slots freed (cancelled, or left by a move)", f"{freed}"),
        ("re-filled through the waitlist", f"{len(tally.refilled)} ({share:.0%})"),
        ("bookings moved earlier", f"{len(tally.gained_days)}"),
        ("median days gained per move", f"{gained:.1f}"),
        ("new bookings from the waitlist", f"{tally.new_bookings}"),
        (
            "offers: made / accepted / declined / expired",
            f"{tally.offers} / {tally.accepted} / {tally.declined} / {world['expired']}",
        ),
        (
            "acceptances refused by the booking",
            ", ".join(f"{n} {code}" for code, n in sorted(tally.refused.items())) or "0",
        ),
        ("offers made 21:00-08:00", f"{tally.night_offers}"),
        ("double bookings", f"{world['doubles']}"),
        (
            "sweep: median / max ms",
            f"{statistics.median(tally.sweep_ms):.1f} / {max(tally.sweep_ms):.1f}",
        ),
        ("sweep: queries of a run offering nothing", ", ".join(map(str, reads))),
        ("sweep: queries per offer made", ", ".join(map(str, sorted(tally.per_offer)))),
    ]
    lines = ["| measure | value |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)  # noqa: S311 - a simulation, not a secret
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "eportal.settings",
            "DATABASE_URL": f"{args.pg}/{args.db}",
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": HOST,
            "REDIS_URL": "",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "SMS_BACKEND": "sms.backends.locmem.LocMemBackend",
            "SMS_DISPATCH_AT_COMMIT": "0",
            "EPORTAL_ALLOW_SYNTHETIC_IDS": "1",
        }
    )
    create_database(args.pg, args.db)
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        began = time.perf_counter()
        tally, world = simulate(args, rng)
        print(report(args, tally, world))
        print(f"\n(simulated {args.days} days in {time.perf_counter() - began:.0f} s)")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.pg, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
