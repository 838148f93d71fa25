"""Scale-out as production runs it (issue #11, section 4; docs/operations.md, "Scaling"):

- PgBouncer in transaction pooling in front of PostgreSQL: the booking path, with the
  compiled statements of eportal/db/prepared.py and its pipelined transaction, through a
  real PgBouncer (Debian's 1.18) with ``DB_PREPARE_THRESHOLD=0``, more clients than server
  connections.
- Two gunicorn processes on two ports behind a round-robin proxy (no stickiness), through
  PgBouncer: a patient's session, CSRF token and login code survive every switch between
  them, and 50 patients racing for one slot across both book exactly one.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import re
import threading
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection, connections
from django.test import Client

from booking.models import Appointment
from booking.services import SlotTaken, appointment_book
from delegation.models import Service
from delegation.services import service_matrix_save
from identification.models import PatientCredential
from sms.models import OutboxMessage
from tests import factories, live
from tests.proxy import Browser, running_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "blåbærsyltetøy-på-hytta"
#: Server connections PgBouncer opens to PostgreSQL; every test has more clients than this.
POOL = 3
RACERS = 50


@pytest.fixture
def bouncer(tmp_path):
    pgbouncer = live.PgBouncer(tmp_path / "pgbouncer", pool_size=POOL)
    yield pgbouncer
    pgbouncer.stop()


@pytest.fixture
def world(clinic):
    world = factories.build_booking_world(clinic)
    service_matrix_save(
        clinic=clinic, service=Service.BOOKING, cells=[(world.gp_list.pk, world.gp.pk)]
    )
    start = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0
    )
    world.slots = [
        factories.make_slot(world.gp, world.ep, start + datetime.timedelta(minutes=20 * i))
        for i in range(RACERS + 1)
    ]
    return world


@pytest.fixture
def through_bouncer(bouncer):
    """This process's connections go through PgBouncer, configured as eportal/settings.py
    configures them with ``DB_PREPARE_THRESHOLD=0`` (tests/test_settings.py): no
    server-side binding, nothing prepared, no server-side cursors. (Every thread's
    connection shares this settings dict.)"""
    db = connection.settings_dict
    assert db["OPTIONS"].get("prepare_threshold"), "the tests run with preparing on"
    saved = copy.deepcopy({key: db[key] for key in ("PORT", "OPTIONS")})
    connections.close_all()
    db["PORT"] = bouncer.port
    db["OPTIONS"] = {
        key: value
        for key, value in db["OPTIONS"].items()
        if key not in {"server_side_binding", "prepare_threshold"}
    }
    db["DISABLE_SERVER_SIDE_CURSORS"] = True
    yield bouncer
    connections.close_all()
    db.update(saved)
    db.pop("DISABLE_SERVER_SIDE_CURSORS", None)


def transactions_through(bouncer, dbname: str) -> int:
    stats = {row["database"]: row for row in bouncer.show("STATS")}
    return int(stats[dbname]["total_xact_count"]) if dbname in stats else 0


def test_booking_through_pgbouncer_in_transaction_pooling(world, through_bouncer, settings):
    """Twenty patients book through the views at once, each thread with its own client
    connection, over three server connections: one wins the shared slot, then every one
    books a slot of their own on the same connection (a lost race leaves it fit) and opens
    the slot page, the home page and "Mine timer"."""
    settings.SMS_DISPATCH_AT_COMMIT = False  # production: the dispatcher runs on beat
    dbname = connection.settings_dict["NAME"]
    before = transactions_through(through_bouncer, dbname)
    patients = [factories.make_patient(world.clinic, patient_list=world.gp_list) for _ in range(20)]
    clients = [factories.log_in_patient(p) for p in patients]
    barrier = threading.Barrier(len(clients))
    results: dict[int, tuple[int, int]] = {}

    def patient(i: int, client: Client) -> None:
        try:
            barrier.wait()
            first = client.post(f"/c/DEMO1/timer/{world.slots[0].pk}/", {"reason": "Kontroll"})
            own = client.post(f"/c/DEMO1/timer/{world.slots[i + 1].pk}/", {"reason": "Kontroll"})
            # The same statements again on the same client connection, over whichever
            # server connection PgBouncer hands out: what a prepared statement would not
            # survive ("prepared statement ... already exists / does not exist").
            pages = [
                client.get(path).status_code
                for path in ["/c/DEMO1/timer/", "/c/DEMO1/home/", *["/c/DEMO1/mine-timer/"] * 2]
            ]
            results[i] = (first.status_code, own.status_code if pages == [200] * 4 else pages)
        finally:
            connection.close()

    threads = [threading.Thread(target=patient, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    firsts = [first for first, _own in results.values()]
    assert len(results) == len(clients)
    assert firsts.count(302) == 1, firsts
    assert firsts.count(409) == len(clients) - 1, firsts
    assert [own for _first, own in results.values()] == [302] * len(clients)
    assert Appointment.objects.filter(slot=world.slots[0], status="booked").count() == 1
    assert Appointment.objects.filter(status="booked").count() == len(clients) + 1
    assert OutboxMessage.objects.count() == len(clients) + 1
    # The service itself, and a lost race, on this thread's connection.
    with pytest.raises(SlotTaken):
        appointment_book(patient=world.patient, slot_id=world.slots[0].pk, reason="x")
    booked = appointment_book(patient=world.patient, slot_id=world.slots[-1].pk, reason="x")
    assert booked.pk
    assert transactions_through(through_bouncer, dbname) > before
    servers = [row for row in through_bouncer.show("SERVERS") if row["database"] == dbname]
    assert 0 < len(servers) <= POOL


def test_prepared_statements_do_not_survive_pgbouncer_1_18(bouncer):
    """Why ``DB_PREPARE_THRESHOLD=0`` behind it: psycopg's prepared statements live on the
    server connection, which transaction pooling gives to another client after each
    transaction. (PgBouncer 1.21+ with ``max_prepared_statements`` tracks them instead.)"""
    import psycopg

    db = connection.settings_dict
    dsn = f"host=127.0.0.1 port={bouncer.port} user={db['USER']} dbname={db['NAME']}"
    errors: list[Exception] = []

    def client(n: int) -> None:
        try:
            with psycopg.connect(dsn, prepare_threshold=1) as conn:
                for i in range(10):
                    conn.execute(f"SELECT %s::int + {n % 3}", [i]).fetchall()
                    conn.commit()
        except psycopg.Error as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(2 * POOL + 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors
    assert all(
        isinstance(
            e, psycopg.errors.DuplicatePreparedStatement | psycopg.errors.InvalidSqlStatementName
        )
        for e in errors
    ), errors


@pytest.fixture
def web_pair(tmp_path, live_redis, bouncer):
    """Two gunicorns (2 sync workers each) on two ports, through PgBouncer, sharing Redis
    (cache, sessions' cache) and the database, behind a round-robin proxy; yields
    (proxy port, the SMS folder). Tasks run in-process, SMS go to files."""
    sms_dir = tmp_path / "sms"
    env = live.portal_env(
        redis_url=live_redis.url(),
        database=live.database_url(port=bouncer.port),
        DB_PREPARE_THRESHOLD="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        SMS_BACKEND="sms.backends.file.FileBackend",
        SMS_FILE_PATH=str(sms_dir),
        EPORTAL_TRUSTED_PROXIES="127.0.0.1/32",
    )
    first, first_port = live.gunicorn(env, tmp_path / "web-1.log")
    with live.running(first):
        second, second_port = live.gunicorn(env, tmp_path / "web-2.log")
        with (
            live.running(second),
            running_proxy(f"127.0.0.1:{first_port}", f"127.0.0.1:{second_port}") as port,
        ):
            yield port, sms_dir


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def test_session_csrf_and_login_code_survive_switching_web_processes(web_pair, world):
    port, sms_dir = web_pair
    salt = "saltsaltsalt"
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, salt, iterations=100_000)
    PatientCredential.objects.create(patient=world.patient, password=hashed)
    browser = Browser(port, source="127.0.0.1")
    browser.cookies["eportal_language"] = "en"
    served = []

    def step(method: str, path: str, form: dict[str, str] | None = None, expect: int = 200):
        status, headers, page = browser.request(method, path, form=form)
        served.append(headers["X-Upstream"])
        assert status == expect, (method, path, status, page[:500])
        return headers, page

    _h, page = step("GET", "/c/DEMO1/login/")
    form = {"national_id": world.patient.national_id, "password": PASSWORD}
    headers, _page = step(
        "POST", "/c/DEMO1/login/", {**form, "csrfmiddlewaretoken": csrf_token(page)}, 302
    )
    assert headers["Location"] == "/c/DEMO1/login/code/"
    (sms_file,) = sms_dir.glob("*.txt")
    code = re.search(r"\b(\d{6})\b", sms_file.read_text()).group(1)
    _h, page = step("GET", "/c/DEMO1/login/code/")
    headers, _page = step(
        "POST", "/c/DEMO1/login/code/", {"code": code, "csrfmiddlewaretoken": csrf_token(page)}, 302
    )
    assert headers["Location"] == "/c/DEMO1/home/"
    _h, page = step("GET", "/c/DEMO1/home/")
    assert world.patient.name in page
    _h, page = step("GET", f"/c/DEMO1/timer/{world.slots[0].pk}/")
    headers, _page = step(
        "POST",
        f"/c/DEMO1/timer/{world.slots[0].pk}/",
        {"reason": "Kontroll", "csrfmiddlewaretoken": csrf_token(page)},
        302,
    )
    assert Appointment.objects.get().patient == world.patient
    # Every request went to the other process than the one before.
    assert len(set(served)) == 2
    assert all(a != b for a, b in itertools.pairwise(served)), served


def test_fifty_patients_racing_across_two_web_processes_book_one(web_pair, world):
    port, _sms_dir = web_pair
    slot = world.slots[0]
    path = f"/c/DEMO1/timer/{slot.pk}/"
    patients = [
        factories.make_patient(world.clinic, patient_list=world.gp_list) for _ in range(RACERS)
    ]
    browsers, tokens = [], []
    for patient in patients:
        browser = Browser(port, source="127.0.0.1")
        browser.cookies["sessionid"] = factories.log_in_patient(patient).cookies["sessionid"].value
        status, _headers, page = browser.get(path)
        assert status == 200, page[:300]
        browsers.append(browser)
        tokens.append(csrf_token(page))
    barrier = threading.Barrier(RACERS)
    results: list[tuple[int, str]] = [(0, "")] * RACERS

    def race(i: int) -> None:
        barrier.wait()
        form = {"reason": "Kontroll", "csrfmiddlewaretoken": tokens[i]}
        status, headers, _page = browsers[i].request("POST", path, form=form)
        results[i] = (status, headers.get("X-Upstream", ""))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    statuses = [status for status, _upstream in results]
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == RACERS - 1, statuses
    assert len({upstream for _status, upstream in results}) == 2
    assert Appointment.objects.filter(slot=slot, status="booked").count() == 1
    assert Appointment.objects.count() == 1


def test_compose_puts_pgbouncer_in_transaction_pooling_in_front_of_postgres():
    import yaml  # PyYAML comes with bandit

    compose = yaml.safe_load((Path(__file__).parent.parent / "docker-compose.yml").read_text())
    services = compose["services"]
    bouncer = services["pgbouncer"]
    image, version = bouncer["image"].rsplit(":", 1)
    assert image == "edoburu/pgbouncer"
    assert tuple(int(n) for n in version.split(".")[:2]) >= (1, 21)  # max_prepared_statements
    assert bouncer["environment"]["POOL_MODE"] == "transaction"
    for name in ("web", "worker", "beat", "watchdog"):
        env = services[name]["environment"]
        assert "@pgbouncer:5432/eportal" in env["DATABASE_URL"], name
        # What this file tests through PgBouncer: nothing prepared (tests above).
        assert env["DB_PREPARE_THRESHOLD"] == "${DB_PREPARE_THRESHOLD:-0}", name
        assert "pgbouncer" in services[name]["depends_on"], name
    # Migrations go straight to PostgreSQL.
    assert "@db:5432/eportal" in services["web"]["environment"]["MIGRATE_DATABASE_URL"]
    assert (
        "DATABASE_URL=$$MIGRATE_DATABASE_URL python manage.py migrate"
        in (services["web"]["command"])
    )
