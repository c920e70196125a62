"""Signed values the service hands out and checks: confirmation links (expiring), the
per-reader unsubscribe and preference tokens (mailer/tokens.py) and CSRF tokens.

Every check accepts the current secret and the old ones (MAILER_SECRET_OLD), so rotating
the secret does not break links already in readers' inboxes; new values use the current one.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets as random

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..tokens import PREFERENCES, UNSUBSCRIBE, verify_token

CSRF_COOKIE = "csrf"


class Links:
    def __init__(self, secrets: list[bytes], confirm_hours: int):
        self.secrets = secrets
        self.max_age = confirm_hours * 3600
        # itsdangerous signs with the last key and verifies with any: newest last
        self._confirm = URLSafeTimedSerializer(list(reversed(secrets)), salt="confirm-signup")

    # --- confirmation links: {"s": signup id, "n": nonce, "h": address digest} -----------------
    def confirm_token(self, signup_id: int, nonce: str, digest: str) -> str:
        return self._confirm.dumps({"s": signup_id, "n": nonce, "h": digest})

    def read_confirm(self, token: str) -> tuple[str, dict | None]:
        """("ok", payload), ("expired", None) or ("invalid", None)."""
        if not token or len(token) > 400:
            return "invalid", None
        try:
            payload = self._confirm.loads(token, max_age=self.max_age)
        except SignatureExpired:
            return "expired", None
        except BadSignature:
            return "invalid", None
        if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
            return "invalid", None
        return "ok", payload

    # --- the per-reader tokens in every email ---------------------------------------------------
    def reader(self, token: str, purpose: str) -> str | None:
        """The address hash a genuine unsubscribe or preferences token names, else None."""
        assert purpose in (UNSUBSCRIBE, PREFERENCES)
        for secret in self.secrets:
            found = verify_token(secret, token, purpose)
            if found:
                return found
        return None

    # --- CSRF: a random cookie and, in each form, its HMAC (double submit, signed) -----------
    @staticmethod
    def new_cookie() -> str:
        return random.token_urlsafe(24)

    def csrf_for(self, cookie: str) -> str:
        return hmac.new(self.secrets[0], b"csrf|" + cookie.encode(), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, cookie: str | None, value: str | None) -> bool:
        if not cookie or not value or len(cookie) > 100:
            return False
        return any(hmac.compare_digest(
            hmac.new(s, b"csrf|" + cookie.encode(), hashlib.sha256).hexdigest()[:40], value)
            for s in self.secrets)
