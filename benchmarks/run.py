"""The load benchmark (docs/benchmarks.md): ``python -m benchmarks.run`` (or ``make bench``).

1. Creates a fresh PostgreSQL database, migrates it and builds the clinic
   (:mod:`benchmarks.data`): 30 practitioners, 20,000 patients, slots from templates, and
   thousands of logged-in patient sessions written straight into the session store.
2. Starts gunicorn (sync workers, one per core) with production settings (DEBUG off,
   Redis cache and Celery broker) plus the ``/bench/hello`` baseline
   (:mod:`benchmarks.settings`).
3. Each round drives, with wrk and 16 connections, one after the other: hello, the clinic's
   start page, the patient's home page, the free-slot page (one week of one practitioner,
   about 100 free slots) and the booking POST (every request a different free slot). After
   the POSTs it counts double bookings in the database.
4. Prints the medians over the rounds (the machine is shared) as a Markdown table, with each
   page's requests per second as a share of hello's in the same round, and the targets.
5. Stops gunicorn, drops the database and removes its Redis keys and scratch files.

Only 127.0.0.1 is contacted; every loop is bounded by a count or a deadline.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SECRET_KEY = "benchmark-only-key-" + "x7Qm2pR9vL4kT8nW3zY6bC1dF5gH0jK"

# Targets (docs/benchmarks.md): share of hello's requests per second, and p99 in ms.
TARGETS = {"slots": (0.12, 50.0), "book": (0.10, 80.0)}


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    path: str
    method: str = "GET"
    logged_in: bool = True
    expect: int = 200
    #: The scratch file of "<session key> <csrf secret>" lines the requests use.
    sessions: str = "sessions.txt"
    #: An Authorization header instead of a session (the FHIR API).
    auth: str = ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (medians are reported)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per page per round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per page before round 1")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--practitioners", type=int, default=30)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--booked", type=int, default=3_000, help="appointments made beforehand")
    parser.add_argument("--threads-econsult", type=int, default=5_000, help="eConsultations")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--db", default="eportal_bench")
    parser.add_argument("--pg", default=f"postgres://postgres@{HOST}:5432", help="server URL")
    parser.add_argument(
        "--redis", default=f"redis://{HOST}:6379/0", help="cache and broker; '' for none"
    )
    parser.add_argument(
        "--pages",
        default="",
        help="comma-separated subset of hello,start,home,slots,book,fhir_find,econsult_new,mine,"
        "inbox",
    )
    parser.add_argument("--json", type=Path, help="also write every round's numbers here")
    parser.add_argument(
        "--keep", action="store_true", help="leave the database and scratch files (profiling)"
    )
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


# Database


def _admin_sql(pg_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _quoted(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"unsafe database name {name!r}")
    return f'"{name}"'


def create_database(pg_url: str, name: str) -> None:
    db = _quoted(name)
    _admin_sql(pg_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}")


def drop_database(pg_url: str, name: str) -> None:
    _admin_sql(pg_url, f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")


def clean_redis(redis_url: str) -> None:
    """Remove only the benchmark's keys: its Celery queue (the queued confirmation SMS
    nobody consumes) and its cache entries."""
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = ["eportal-bench", "_kombu.binding.eportal-bench"]
    keys += list(client.scan_iter(match="eportal-bench:*", count=1000))[:100_000]
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_gunicorn(env: dict[str, str], port: int, workers: int, logfile: Path) -> Any:
    out = logfile.open("ab")
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "eportal.wsgi:application",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--timeout",
        "30",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(  # noqa: S603 - a fixed command
        command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
    )


def stop_gunicorn(process: Any) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def fetch(
    port: int, method: str, path: str, cookie: str = "", body: str = "", auth: str = ""
) -> tuple[int, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if auth:
            headers["Authorization"] = auth
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def wait_until_up(port: int, process: Any, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited; see its log")
        try:
            if fetch(port, "GET", "/bench/hello")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit("gunicorn did not answer within a minute")


# wrk


def run_wrk(
    args: argparse.Namespace,
    port: int,
    scenario: Scenario,
    seconds: int,
    scratch: Path,
    slots_file: Path | None,
) -> dict[str, Any]:
    out = scratch / f"wrk-{scenario.name}.json"
    out.unlink(missing_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BENCH_MODE": "post" if scenario.method == "POST" else "get",
        "BENCH_PATH": scenario.path,
        "BENCH_SESSIONS": str(scratch / scenario.sessions) if scenario.logged_in else "",
        "BENCH_SLOTS": str(slots_file or ""),
        "BENCH_THREADS": str(args.threads),
        "BENCH_OUT": str(out),
        "BENCH_AUTH": scenario.auth,
    }
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(ROOT / "benchmarks" / "wrk.lua"),
        f"http://{HOST}:{port}{scenario.path}",
    ]
    subprocess.run(  # noqa: S603 - a fixed command
        command, env=env, check=True, capture_output=True, timeout=seconds + 60
    )
    result = json.loads(out.read_text())
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


# Reporting


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(
    scenarios: list[Scenario], rounds: list[dict[str, dict[str, Any]]]
) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for s in scenarios:
        rows = [r[s.name] for r in rounds]
        table[s.name] = {
            "rps": median([r["rps"] for r in rows]),
            "ratio": median([r[s.name]["rps"] / r["hello"]["rps"] for r in rounds]),
            "p50": median([r["p50_us"] / 1000 for r in rows]),
            "p95": median([r["p95_us"] / 1000 for r in rows]),
            "p99": median([r["p99_us"] / 1000 for r in rows]),
            "unexpected": sum(r["unexpected"] for r in rows),
        }
    return table


def markdown(scenarios: list[Scenario], table: dict[str, dict[str, float]]) -> str:
    lines = [
        "| Page | req/s | share of hello | p50 ms | p95 ms | p99 ms | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for s in scenarios:
        row = table[s.name]
        target, met = "", ""
        if s.name in TARGETS:
            share, p99 = TARGETS[s.name]
            target = f"≥ {share:.0%}, p99 < {p99:.0f} ms"
            ok = row["ratio"] >= share and row["p99"] < p99 and not row["unexpected"]
            met = "yes" if ok else "**no**"
        lines.append(
            f"| {s.label} | {row['rps']:,.0f} | {row['ratio']:.1%} | {row['p50']:.1f} "
            f"| {row['p95']:.1f} | {row['p99']:.1f} | {target} | {met} |"
        )
    return "\n".join(lines)


# The run


def configure_environment(args: argparse.Namespace, scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DATABASE_URL": f"{args.pg}/{args.db}",
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": HOST,
            "SECURE_SSL_REDIRECT": "0",
            "REDIS_URL": args.redis,
            # With Redis the confirmation SMS is queued for a worker (none runs here); without
            # it the task runs in-process, so keep it off the network either way.
            "SMS_BACKEND": "sms.backends.locmem.LocMemBackend",
            "EPORTAL_ALLOW_SYNTHETIC_IDS": "1",
            "BENCH_STATIC_ROOT": str(scratch / "static"),
            "PYTHONPATH": str(ROOT),
        }
    )
    os.environ.update(env)
    return env


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    scratch = Path(tempfile.mkdtemp(prefix="eportal-bench-"))
    env = configure_environment(args, scratch)
    gunicorn = None
    db_created = False
    try:
        import django
        from django.core.management import call_command

        log(f"database {args.db}: create and migrate")
        create_database(args.pg, args.db)
        db_created = True
        django.setup()
        from benchmarks import data

        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        log(
            f"clinic: {args.practitioners} practitioners, {args.patients} patients, "
            f"{args.booked} appointments already booked"
        )
        world = data.build_clinic(
            practitioners=args.practitioners,
            patients=args.patients,
            booked=args.booked,
            seed=args.seed,
        )
        pairs = data.create_sessions(world, count=args.sessions, seed=args.seed)
        (scratch / "sessions.txt").write_text("".join(f"{k} {c}\n" for k, c in pairs))
        log(
            f"{len(pairs)} patient sessions; measured week {world.week}: "
            f"{world.week_free} free slots of {world.measured.name}"
        )
        inbox_rows = data.build_econsult(world, threads=args.threads_econsult, seed=args.seed)
        staff_pair = data.create_staff_session(world)
        (scratch / "staff_sessions.txt").write_text(f"{staff_pair[0]} {staff_pair[1]}\n")
        log(
            f"{args.threads_econsult} eConsultations; {world.measured.name}'s inbox: "
            f"{inbox_rows} open"
        )

        bearer = f"Bearer {data.create_api_token(world)}"
        week_end = world.week + datetime.timedelta(days=7)
        ep = data.EP_IDENT
        scenarios = [
            Scenario("hello", "hello (minimal view)", "/bench/hello", logged_in=False),
            Scenario("start", "clinic start page", f"/c/{ep}/"),
            Scenario("home", "patient home page", f"/c/{ep}/home/"),
            Scenario(
                "slots",
                "free-slot page (1 week, 1 practitioner)",
                f"/c/{ep}/timer/?p={world.measured.pk}&week={world.week.isoformat()}",
            ),
            Scenario("book", "booking POST", f"/c/{ep}/timer/", method="POST", expect=302),
            Scenario(
                "fhir_find",
                "FHIR Appointment/$find (1 week, 1 practitioner)",
                f"/fhir/r4/Appointment/$find?practitioner=Practitioner/{world.measured.pk}"
                f"&start={world.week.isoformat()}&end={week_end.isoformat()}",
                logged_in=False,
                auth=bearer,
            ),
            Scenario(
                "econsult_new", "Ny eKonsultasjon (3 practitioners)", f"/c/{ep}/meldinger/ny/"
            ),
            Scenario("mine", "Mine meldinger", f"/c/{ep}/meldinger/"),
            Scenario(
                "inbox",
                "staff inbox (one practitioner's open eConsultations)",
                "/admin/econsult/inbox/",
                sessions="staff_sessions.txt",
            ),
        ]

        if args.pages:
            wanted = {"hello", *args.pages.split(",")}
            scenarios = [s for s in scenarios if s.name in wanted]

        port = free_port()
        log(f"gunicorn: {args.workers} sync workers on {HOST}:{port}")
        gunicorn = start_gunicorn(env, port, args.workers, scratch / "gunicorn.log")
        wait_until_up(port, gunicorn)

        # Smoke test: every page answers as a logged-in patient would expect.
        key, csrf = pairs[0]
        cookie = f"sessionid={key}; csrftoken={csrf}"
        staff_cookie = f"sessionid={staff_pair[0]}; csrftoken={staff_pair[1]}"
        slots = data.bookable_slots(world, seed=args.seed)
        for s in scenarios:
            if s.method == "POST":
                body = f"csrfmiddlewaretoken={csrf}&reason=Kontroll"
                status, _ = fetch(port, "POST", f"{s.path}{slots[0]}/", cookie, body)
            else:
                who = staff_cookie if s.sessions == "staff_sessions.txt" else cookie
                status, text = fetch(port, "GET", s.path, who if s.logged_in else "", auth=s.auth)
            if status != s.expect:
                raise SystemExit(f"{s.name}: HTTP {status}, expected {s.expect}")
            if s.name == "slots":
                shown = len(re.findall(rf'href="/c/{ep}/timer/\d+/"', text))
                log(f"free-slot page shows {shown} slots")
            if s.name == "fhir_find":
                log(f"$find finds {json.loads(text)['total']} free slots")

        rounds: list[dict[str, dict[str, Any]]] = []
        for number in range(0 if args.warmup else 1, args.runs + 1):
            warmup = number == 0
            seconds = args.warmup if warmup else args.duration
            results: dict[str, dict[str, Any]] = {}
            for s in scenarios:
                slots_file = None
                if s.method == "POST":
                    slots_file = scratch / "slots.txt"
                    slots_file.write_text(
                        "".join(
                            f"{pk}\n" for pk in data.bookable_slots(world, seed=args.seed + number)
                        )
                    )
                    before = data.booked_count()
                result = run_wrk(args, port, s, seconds, scratch, slots_file)
                good = result["s3xx"] if s.expect == 302 else result["s2xx"]
                result["unexpected"] = result["requests"] - good
                if s.method == "POST":
                    # Requests still in flight when wrk stops may book without being counted.
                    result["bookings"] = data.booked_count() - before
                    result["same_slot"], result["overlapping"] = data.double_bookings()
                results[s.name] = result
            if warmup:
                log("warm-up done")
                continue
            rounds.append(results)
            book = results.get("book")
            log(
                f"round {number}: "
                + ", ".join(
                    f"{n} {r['rps']:.0f}/s p99 {r['p99_us'] / 1000:.1f}ms"
                    for n, r in results.items()
                )
                + (
                    f"; {book['bookings']} bookings for {book['s3xx']} redirects, "
                    f"double bookings {book['same_slot'] + book['overlapping']}"
                    if book
                    else ""
                )
                + f", unexpected statuses {sum(r['unexpected'] for r in results.values())}"
            )

        table = summarise(scenarios, rounds)
        doubles = sum(
            r["book"]["same_slot"] + r["book"]["overlapping"] for r in rounds if "book" in r
        )
        print()
        print(
            f"Medians of {len(rounds)} rounds of {args.duration} s, {args.connections} "
            f"connections, gunicorn {args.workers} sync workers, nproc {os.cpu_count()}:"
        )
        print()
        print(markdown(scenarios, table))
        print()
        print(
            f"Double bookings after the runs: {doubles} (target 0: "
            f"{'met' if doubles == 0 else 'NOT met'})"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "args": vars(args) | {"json": str(args.json)},
                        "rounds": rounds,
                        "table": table,
                        "double_bookings": doubles,
                    },
                    indent=2,
                    default=str,
                )
            )
        return 0 if doubles == 0 else 1
    finally:
        stop_gunicorn(gunicorn)
        if not args.keep:
            if db_created:
                from django.db import connections

                connections.close_all()
                drop_database(args.pg, args.db)
            clean_redis(args.redis)
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            log(f"kept database {args.db} and {scratch}")


if __name__ == "__main__":
    sys.exit(main())
