"""A small reverse proxy, run as its own process: what nginx does in front of ePortal.

It forwards every request to ``--upstream`` and appends the peer's address to
``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``), passing every other header and
the body through both ways. It prints ``{"port": N}`` once it listens.

    python tests/proxy/server.py --upstream 127.0.0.1:8000 [--port 0]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
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


def make_handler(upstream_host: str, upstream_port: int) -> type[BaseHTTPRequestHandler]:
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
            upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=30)
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
                self.end_headers()
                self.wfile.write(payload)
            finally:
                upstream.close()

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Forward


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True, help="host:port of the web server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(host, int(port)))
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
