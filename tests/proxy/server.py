"""A small reverse proxy, run as its own process: what nginx does in front of ePortal.

It forwards every request to ``--upstream`` and appends the peer's address to
``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``), passing every other header and
the body through both ways. Given ``--upstream`` more than once, it takes them in turn, one
request each (nginx's default round-robin, no stickiness), and names the one that answered
in ``X-Upstream``. It prints ``{"port": N}`` once it listens.

    python tests/proxy/server.py --upstream 127.0.0.1:8000 [--upstream 127.0.0.1:8001] [--port 0]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


def make_handler(upstreams: list[tuple[str, int]]) -> type[BaseHTTPRequestHandler]:
    turns = itertools.cycle(upstreams)
    lock = threading.Lock()

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {}
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() == "x-forwarded-for":
                    continue
                headers[name] = value
            forwarded = ", ".join(self.headers.get_all("X-Forwarded-For") or [])
            peer = self.client_address[0]
            headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
            headers["X-Forwarded-Proto"] = "http"
            with lock:
                upstream_host, upstream_port = next(turns)
            upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=60)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                        continue
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                if len(upstreams) > 1:
                    self.send_header("X-Upstream", f"{upstream_host}:{upstream_port}")
                self.end_headers()
                self.wfile.write(payload)
            finally:
                upstream.close()

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Forward


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the booking race sends 50 at once


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--upstream", required=True, action="append", help="host:port of a web server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    upstreams = [(host, int(port)) for host, port in (u.rsplit(":", 1) for u in args.upstream)]
    server = Server((args.host, args.port), make_handler(upstreams))
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
