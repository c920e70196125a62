"""Slow clients against the production server: one that sends a byte a second holds one
socket, never a worker: everybody else is answered at once; it is cut off at the deadline."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from tests.service_support import start


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = start(tmp_path_factory.mktemp("slow"), workers=1,
                env={"MAILER_HEADER_TIMEOUT": "4", "MAILER_BODY_TIMEOUT": "4"})
    yield svc
    svc.stop()


def port(service) -> int:
    return int(service.url.rsplit(":", 1)[1].strip("/"))


class Trickle(threading.Thread):
    """Sends ``data`` one byte a second; records when and how the server hung up."""

    def __init__(self, service, data: bytes, *, prefix: bytes = b""):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port(service)), timeout=30)
        self.prefix = prefix
        self.data = data
        self.answer = b""
        self.closed_after: float | None = None

    def run(self):
        started = time.monotonic()
        try:
            self.sock.sendall(self.prefix)
            for byte in self.data:
                self.sock.sendall(bytes([byte]))
                self.sock.settimeout(1.0)
                try:
                    chunk = self.sock.recv(4096)
                    if not chunk:
                        break
                    self.answer += chunk
                    break
                except socket.timeout:
                    continue
        except OSError:
            pass
        self.closed_after = time.monotonic() - started
        self.sock.close()


def test_a_client_sending_one_byte_a_second_delays_nobody(service):
    # one worker only: if a slow client could hold it, every request below would wait
    slow = [Trickle(service, b"e" * 400, prefix=b"POST /join HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\n")
            for _ in range(3)]
    for t in slow:
        t.start()
    time.sleep(1.5)
    session = requests.Session()
    took = []
    for _ in range(30):
        started = time.monotonic()
        assert session.get(service.url + "join", timeout=5).status_code == 200
        took.append(time.monotonic() - started)
    assert max(took) < 0.5, took          # the slowest of 30 answers, while 3 clients trickle
    for t in slow:
        t.join(30)
    # each trickler was answered 408 once its body's deadline (4 s) had passed
    assert all(t.closed_after is not None and 3.5 < t.closed_after < 8 for t in slow)
    assert all(t.answer.startswith(b"HTTP/1.1 408") for t in slow), [t.answer[:40] for t in slow]


def test_headers_sent_a_byte_a_second_are_cut_off_at_the_deadline(service):
    t = Trickle(service, b"GET /join HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 100 + b"\r\n\r\n")
    t.start()
    t.join(30)
    assert t.answer == b"" and t.closed_after is not None and 3.5 < t.closed_after < 8
