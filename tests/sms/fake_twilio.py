"""A local stand-in for Twilio's Messages API, on 127.0.0.1, speaking its HTTP protocol.

It answers a message create (POST ``Messages.json``) and a fetch of the account itself (GET
``Accounts/<sid>.json``, the backend's free health check). Each request takes the next answer
from ``script`` (``"ok"`` once the script is empty):

``ok``              201 and the message resource, as Twilio answers a create
``invalid_number``  400 with Twilio's error 21211
``rate_limited``    429 with Twilio's error 20429
``server_error``    500
``slow``            answers ``ok`` only after ``slow_seconds``, longer than the client waits
``suspended``       (account fetch) the account, with status ``suspended``

``hold`` names message creates (1 for the first) that Twilio accepts but whose answer waits:
the handler puts ``(client port, release event)`` on ``held`` and answers nothing until the
test sets the event (the durability tests kill the sender meanwhile). ``accepted`` counts
them: Twilio would send such a message although the sender never learnt it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)\.json$")


@dataclass
class Received:
    path: str
    form: dict[str, str]
    authorised: bool
    answer: str


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    slow_seconds: float = 2.0
    script: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    #: Messages Twilio would have accepted (and so delivered), in order.
    accepted: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""
    hold: set[int] = field(default_factory=set)
    held: queue.Queue[tuple[int, threading.Event]] = field(default_factory=queue.Queue)
    creates: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def count_create(self) -> int:
        with self._lock:
            self.creates += 1
            return self.creates

    def answer(self, *answers: str) -> None:
        self.script.extend(answers)

    def next_answer(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else "ok"

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
            if received.answer in {"ok", "slow"}:
                self.accepted.append(received.form)

    def wait(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def stop(self) -> None:
        self._stop.set()


def make_handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def send_json(self, status: int, payload: dict[str, object]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up waiting (timeout tests)
                self.wfile.write(body)

        def authorised(self) -> bool:
            expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode())
            return self.headers.get("Authorization", "") == f"Basic {expected.decode()}"

        def do_GET(self) -> None:
            match = ACCOUNT_PATH.match(self.path)
            if not match or match["sid"] != fake.account_sid:
                self.send_json(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            if not self.authorised():
                fake.record(Received(self.path, {}, False, "unauthorised"))
                self.send_json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            answer = fake.next_answer()
            fake.record(Received(self.path, {}, True, f"account:{answer}"))
            if answer == "server_error":
                self.send_json(
                    500, {"code": 20500, "message": "Internal Server Error", "status": 500}
                )
                return
            if answer == "slow":
                fake.wait(fake.slow_seconds)
            self.send_json(
                200,
                {
                    "sid": fake.account_sid,
                    "friendly_name": "ePortal test account",
                    "status": "suspended" if answer == "suspended" else "active",
                    "type": "Full",
                    "owner_account_sid": fake.account_sid,
                    "date_created": "Thu, 01 Jan 2026 12:00:00 +0000",
                    "date_updated": "Thu, 01 Jan 2026 12:00:00 +0000",
                    "uri": f"/2010-04-01/Accounts/{fake.account_sid}.json",
                    "subresource_uris": {},
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            authorised = self.authorised()
            match = MESSAGES_PATH.match(self.path)
            if not match or match["sid"] != fake.account_sid:
                self.send_json(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            if not authorised:
                fake.record(Received(self.path, form, False, "unauthorised"))
                self.send_json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            answer = fake.next_answer()
            fake.record(Received(self.path, form, True, answer))
            if fake.count_create() in fake.hold and answer == "ok":
                release = threading.Event()
                fake.held.put((self.client_address[1], release))
                release.wait(30)
                self.close_connection = True
                return
            if answer == "invalid_number":
                self.send_json(
                    400,
                    {
                        "code": 21211,
                        "message": f"The 'To' number {form.get('To')} is not a valid phone number.",
                        "more_info": "https://www.twilio.com/docs/errors/21211",
                        "status": 400,
                    },
                )
            elif answer == "rate_limited":
                self.send_json(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
            elif answer == "server_error":
                self.send_json(
                    500, {"code": 20500, "message": "Internal Server Error", "status": 500}
                )
            else:
                if answer == "slow":
                    fake.wait(fake.slow_seconds)
                sid = "SM" + uuid.uuid4().hex
                self.send_json(
                    201,
                    {
                        "sid": sid,
                        "account_sid": fake.account_sid,
                        "to": form.get("To"),
                        "from": form.get("From"),
                        "body": form.get("Body"),
                        "status": "queued",
                        "num_segments": "1",
                        "direction": "outbound-api",
                        "api_version": "2010-04-01",
                        "price": None,
                        "error_code": None,
                        "error_message": None,
                        "date_created": "Thu, 01 Jan 2026 12:00:00 +0000",
                        "date_updated": "Thu, 01 Jan 2026 12:00:00 +0000",
                        "date_sent": None,
                        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                        "subresource_uris": {},
                    },
                )

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def start(fake: FakeTwilio) -> tuple[Server, threading.Thread]:
    server = Server(("127.0.0.1", 0), make_handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread
