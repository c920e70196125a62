"""The subscription service for tests: the real thing (``python -m mailer serve``, uvicorn
workers) on a free loopback port, over a copy of the mailer-mini alliance, confirmation
emails going to the outbox (read back from disk as the reader would get them)."""
from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mailer.store import Store
from tests.mailer_support import SECRET, copy_alliance

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    root: Path
    db: Path
    url: str                      # ends in "/"
    process: subprocess.Popen
    log: Path
    env: dict = field(default_factory=dict)

    @property
    def outbox(self) -> Path:
        return self.root / "outbox" / "sign-ups"

    def mails(self) -> list[email.message.EmailMessage]:
        if not self.outbox.is_dir():
            return []
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(self.outbox.glob("*.eml"))]

    def mail_to(self, address: str, *, wait: float = 10.0):
        """The newest sign-up email to ``address``, waiting for the background send."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            for message in self.mails():
                if message["To"] and address in str(message["To"]):
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no sign-up email to {address} in {self.outbox}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def link_in(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"(http://\S+/" + re.escape(path) + r"\?t=\S+)", text)
    assert found, text
    return found.group(1)


def prepare(tmp_path: Path, *, port: int, site_url: str | None = None, extra: dict | None = None) -> Path:
    root = copy_alliance(tmp_path)
    path = root / "content" / "alliance.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["subscriptions_url"] = f"http://127.0.0.1:{port}/"
    if site_url:
        data["site_url"] = site_url
    data.update(extra or {})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


def start(tmp_path: Path, *, workers: int = 2, env: dict | None = None, site_url: str | None = None,
          db: Path | None = None, create_db: bool = True, wait: bool = True) -> Service:
    port = free_port()
    root = prepare(tmp_path, port=port, site_url=site_url)
    db = db or tmp_path / "mailer.sqlite3"
    if create_db:
        Store(db).close()
    full_env = dict(os.environ, MAILER_SECRET=SECRET.decode(), MAILER_PROVIDER="outbox",
                    MAILER_JOIN_LIMIT="1000/60", PYTHONPATH=str(REPO))
    full_env.pop("MAILER_DB", None)
    full_env.update(env or {})
    log = tmp_path / "service.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--root", str(root), "--db", str(db), "serve",
         "--port", str(port), "--workers", str(workers)],
        cwd=str(root), env=full_env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    service = Service(root, db, f"http://127.0.0.1:{port}/", process, log, full_env)
    if wait:
        wait_ready(service)
    return service


def wait_ready(service: Service, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(f"the service exited: {service.log.read_text()}")
        try:
            with urllib.request.urlopen(service.url + "healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    service.stop()
    raise AssertionError(f"the service did not start: {service.log.read_text()}")
