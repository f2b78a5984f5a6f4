"""A real HTTP server standing in for an SMS gateway: it records each request and answers
with the statuses a test plans (then 200)."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "whsec_" + base64.b64encode(b"a shared secret of the gateway!!").decode()


@pytest.fixture
def gateway():
    """A gateway that answers each request with the next status of ``plan`` (then 200)."""
    seen: list[tuple[dict, bytes]] = []
    plan: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(plan.pop(0) if plan else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms", seen, plan
    server.shutdown()
    server.server_close()
