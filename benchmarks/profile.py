"""CPU per request of the benchmark's pages, in-process: ``python -m benchmarks.profile``.

The wrk benchmark (:mod:`benchmarks.run`) measures throughput on a machine that other
processes share; this measures what one request costs the Python process, which is what the
speed work changes. It builds the same clinic in its own database, then calls Django's WSGI
handler directly (the environ gunicorn would pass, the same session and CSRF cookies) and
reports the median CPU time (``time.process_time``) per request and page, over many
requests rotating over the sessions. ``--cprofile PAGE`` prints the hottest functions of one
page instead. PostgreSQL's own time is not in these numbers (it is another process).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import run

PAGES = ("hello", "start", "home", "slots", "confirm", "book")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per page")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated")
    parser.add_argument("--cprofile", choices=PAGES, help="profile this page and print the top")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
    parser.add_argument("--db", default="eportal_profile")
    parser.add_argument("--pg", default=f"postgres://postgres@{run.HOST}:5432")
    parser.add_argument("--redis", default=f"redis://{run.HOST}:6379/0")
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="leave the database")
    parser.add_argument("--reuse", action="store_true", help="use a database kept before")
    parser.add_argument("--gc", action="store_true", help="report garbage collector pauses")
    return parser.parse_args(argv)


def _environ(method: str, path: str, cookie: str, body: bytes) -> dict[str, Any]:
    path_info, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": run.HOST,
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": run.HOST,
        "HTTP_HOST": run.HOST,
        "HTTP_COOKIE": cookie,
        "CONTENT_TYPE": "application/x-www-form-urlencoded" if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="eportal-profile-"))
    run_args = argparse.Namespace(pg=args.pg, db=args.db, redis=args.redis)
    run.configure_environment(run_args, scratch)
    import django
    from django.core.management import call_command

    if not args.reuse:
        run.create_database(args.pg, args.db)
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    from benchmarks import data

    try:
        if not args.reuse:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if args.reuse:
            world = data.existing_world()
        else:
            world = data.build_clinic(
                practitioners=30, patients=args.patients, booked=3_000, seed=5
            )
        pairs = data.create_sessions(world, count=args.sessions, seed=5)
        slots = data.bookable_slots(world, seed=int(time.time()))
        ep = data.EP_IDENT
        paths = {
            "hello": ("GET", "/bench/hello", False),
            "start": ("GET", f"/c/{ep}/", True),
            "home": ("GET", f"/c/{ep}/home/", True),
            "slots": (
                "GET",
                f"/c/{ep}/timer/?p={world.measured.pk}&week={world.week.isoformat()}",
                True,
            ),
            "confirm": ("GET", f"/c/{ep}/timer/{{slot}}/", True),
            "book": ("POST", f"/c/{ep}/timer/{{slot}}/", True),
        }
        handler = WSGIHandler()
        slot_iter = iter(slots)

        def one(page: str, i: int) -> int:
            method, path, logged_in = paths[page]
            key, csrf = pairs[i % len(pairs)]
            cookie = f"sessionid={key}; csrftoken={csrf}" if logged_in else ""
            body = b""
            if "{slot}" in path:
                path = path.format(slot=next(slot_iter))
            if method == "POST":
                body = f"csrfmiddlewaretoken={csrf}&reason=Kontroll".encode()
            statuses: list[str] = []
            chunks = handler(_environ(method, path, cookie, body), lambda s, h: statuses.append(s))
            b"".join(chunks)
            getattr(chunks, "close", lambda: None)()
            return int(statuses[0].split()[0])

        pages = [p for p in args.pages.split(",") if p]
        if args.cprofile:
            pages = [args.cprofile]
        # Warm up: every session once (the session cache, as in a long wrk run), then each
        # page (imports, template and URL caches).
        for i in range(len(pairs)):
            one("start", i)
        for page in pages:
            for i in range(20):
                one(page, i)
        if args.cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(args.requests):
                one(args.cprofile, i)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
            return 0
        pauses: list[float] = []
        if args.gc:
            import gc

            started: list[float] = []

            def on_gc(phase: str, info: dict[str, int]) -> None:
                if phase == "start":
                    started.append(time.perf_counter())
                elif started:
                    pauses.append((time.perf_counter() - started.pop()) * 1000)

            gc.callbacks.append(on_gc)
        print(
            f"CPU ms per request, median of {args.requests}, pages interleaved "
            "(PostgreSQL time excluded):"
        )
        times: dict[str, list[float]] = {page: [] for page in pages}
        statuses: dict[str, set[int]] = {page: set() for page in pages}
        for i in range(args.requests):
            for page in pages:
                t0 = time.process_time()
                statuses[page].add(one(page, i))
                times[page].append((time.process_time() - t0) * 1000)

        # The median, and the best mean of 20 consecutive requests: the machine is shared,
        # and other processes only ever add time, so the best batch is the steadier figure.
        def best(values: list[float]) -> float:
            return min(statistics.fmean(values[i : i + 20]) for i in range(0, len(values), 20))

        hello = best(times["hello"]) if "hello" in times else None
        for page in pages:
            ms = statistics.median(times[page])
            share = f" = {hello / best(times[page]):6.1%} of hello" if hello else ""
            print(
                f"  {page:8s} median {ms:6.2f} ms, best batch {best(times[page]):6.2f} ms"
                f"{share}, statuses {sorted(statuses[page])}"
            )
        if pauses:
            print(
                f"  gc: {len(pauses)} collections, {sum(pauses):.1f} ms in all, "
                f"longest {max(pauses):.2f} ms"
            )
        return 0
    finally:
        connections.close_all()
        if not args.keep:
            run.drop_database(args.pg, args.db)
        run.clean_redis(args.redis)


if __name__ == "__main__":
    sys.exit(main())
