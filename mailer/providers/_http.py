"""HTTP plumbing shared by the API providers (Mailgun, SendGrid).

One :class:`HttpClient` per provider instance holds one ``requests.Session`` (so a send
reuses its TLS connection), the timeouts, and the API key, which it never shows: the key
lives in an auth object whose ``repr`` is ``***``, and every message that leaves this module
is scrubbed of it.

How answers map to the errors of :mod:`mailer.providers.base`:

==============================================  =================================================
2xx                                             success
3xx, 401, 403, 404 (wrong key, domain or URL)  :class:`AuthError`: stop the send
429, 503                                        :class:`TransientError` with ``retry_after`` from
                                                ``Retry-After`` (seconds or an HTTP date; then
                                                ``X-RateLimit-Reset``; then Mailgun's "try again
                                                after N seconds")
408, other 5xx                                  :class:`TransientError`
400, 413, 422, any other 4xx                    :class:`RejectedError` with the provider's message
could not connect (refused, DNS, connect        :class:`TransientError`: nothing was sent
timeout)
connected, then no answer (reset, closed,       POST: :class:`OutcomeUnknownError` (the provider
read timeout, broken answer)                    may have accepted it: neither API has an
                                                idempotency key); GET: :class:`TransientError`
TLS failure                                     :class:`AuthError` (a certificate problem does not
                                                go away by retrying)
==============================================  =================================================

A reset *before* the provider processed a request and one *after* it look the same from the
client once the request has been written, so both are "unknown": retrying either could send
a newsletter twice. GETs (suppression lists) are idempotent and are retried here, with
exponential backoff and jitter, honouring ``Retry-After``.
"""
from __future__ import annotations

import base64
import ipaddress
import logging
import random
import re
import time
from email.utils import parsedate_to_datetime
from typing import Callable, Iterable
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.auth import AuthBase

from .base import AuthError, OutcomeUnknownError, ProviderError, RejectedError, TransientError

MAX_MESSAGE = 500            # characters of a provider's error message kept in an exception
MAX_RETRY_AFTER = 3600.0     # never wait longer than this, whatever a server asks
_TRY_AGAIN_RE = re.compile(r"try again (?:after|in) (\d+(?:\.\d+)?) ?s", re.I)


class Secret:
    """A string that never shows itself in repr(), str() or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self):      # no pickling a secret into a file by accident
        raise TypeError("a Secret cannot be pickled")


class BasicAuth(AuthBase):
    """HTTP basic auth whose password never appears in a repr."""

    def __init__(self, user: str, password: Secret):
        self._user = user
        self._password = password

    def __call__(self, request):
        token = base64.b64encode(f"{self._user}:{self._password.reveal()}".encode("utf-8")).decode("ascii")
        request.headers["Authorization"] = f"Basic {token}"
        return request

    def __repr__(self) -> str:
        return f"BasicAuth({self._user!r}, ***)"


class BearerAuth(AuthBase):
    def __init__(self, token: Secret):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def any_encoding_pattern(value: str) -> re.Pattern:
    """``value`` in any letter case, each character as itself or percent-encoded (in either hex
    case, or encoded twice: ``%2541``), a space also as ``+``: however a URL carried it."""
    parts = []
    for char in value:
        forms = [re.escape(char), "".join(f"%(?:25)?{byte:02x}" for byte in char.encode("utf-8"))]
        if char == " ":
            forms.append(r"\+")
        parts.append("(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts), re.IGNORECASE)


def scrub(text: str, secrets: Iterable[Secret | str]) -> str:
    """Replace every secret in ``text`` with ***: as written, in any case, percent-encoded
    (wholly or in part, as a redirect's Location might carry it) and base64-encoded (an
    Authorization header). Run it on the final text of a message, after every part is added."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            continue
        for form in {base64.b64encode(value.encode()).decode(),
                     base64.b64encode(f"api:{value}".encode()).decode()}:
            text = text.replace(form, "***")
        text = any_encoding_pattern(value).sub("***", text)
    return text


def is_loopback(host: str) -> bool:
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(api_url: str, default: str, variable: str = "MAILER_API_URL") -> str:
    """``scheme://host[:port]`` from MAILER_API_URL, or the provider's default.

    A trailing ``/v3`` is forgiven. Plain http is allowed only to a loopback test server:
    the API key travels in every request.
    """
    from ..settings import SettingsError

    url = (api_url or default).strip().rstrip("/")
    if url.endswith("/v3"):
        url = url[: -len("/v3")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{variable}: {url!r} is not an http(s) URL such as {default}")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"{variable}: give only the scheme and host (and port), e.g. {default}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SettingsError(f"{variable}: {url!r} would send the API key unencrypted; use https "
                            "(plain http is allowed only for a test server on this machine)")
    return url


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:   # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _retry_after(response: requests.Response, message: str) -> float | None:
    seconds = parse_retry_after(response.headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    reset = response.headers.get("X-RateLimit-Reset")       # SendGrid: a Unix time
    if reset:
        try:
            return min(max(float(reset) - time.time(), 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    match = _TRY_AGAIN_RE.search(message)                    # Mailgun: "... try again after 120 seconds"
    if match:
        return min(float(match.group(1)), MAX_RETRY_AFTER)
    return None


def provider_message(response: requests.Response, secrets: Iterable[Secret | str] = ()) -> str:
    """The provider's own explanation from an error answer, scrubbed, then shortened (so no cut
    leaves part of a secret behind)."""
    text = ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):                      # Mailgun
            text = data["message"]
        elif isinstance(data.get("errors"), list):                    # SendGrid
            parts = []
            for error in data["errors"]:
                if isinstance(error, dict) and error.get("message"):
                    field = error.get("field")
                    parts.append(f"{error['message']}" + (f" ({field})" if field not in (None, "null") else ""))
            text = "; ".join(parts)
    if not text:
        text = (response.text or "").strip()
    text = scrub(" ".join(text.split()), secrets)
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text or (response.reason or "no explanation")


def error_for_status(name: str, response: requests.Response, secrets: Iterable[Secret]) -> ProviderError | None:
    status = response.status_code
    if 200 <= status < 300:
        return None
    secrets = list(secrets)
    message = provider_message(response, secrets)
    what = f"{name}: HTTP {status} from {urlsplit(response.url).path}: {message}"
    if 300 <= status < 400:
        error: ProviderError = AuthError(
            f"{what} (redirected to {response.headers.get('Location', '?')}: check MAILER_API_URL)")
    elif status in (401, 403):
        error = AuthError(f"{what} (check MAILER_API_KEY and its permissions)")
    elif status == 404:
        error = AuthError(f"{what} (check MAILER_DOMAIN and MAILER_API_URL)")
    elif status in (429, 503):
        error = TransientError(what, retry_after=_retry_after(response, message))
    elif status == 408 or status >= 500:
        error = TransientError(what, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    else:
        error = RejectedError(what)
    error.args = (scrub(str(error), secrets),)          # the final text, every part in it
    return error


def _never_connected(exc: BaseException) -> bool:
    """True if the request certainly never reached the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return True
        if isinstance(exc, ConnectionRefusedError):
            return True
        if isinstance(exc, urllib3.exceptions.MaxRetryError):
            exc = exc.reason
            continue
        args = getattr(exc, "args", ())
        exc = args[0] if args and isinstance(args[0], BaseException) else exc.__cause__ or exc.__context__
    return False


def error_for_transport(name: str, method: str, path: str, exc: requests.RequestException,
                        secrets: Iterable[Secret], *, idempotent: bool) -> ProviderError:
    secrets = list(secrets)
    error = _transport_error(name, method, path, exc, scrub(" ".join(str(exc).split()), secrets)[:300],
                             idempotent=idempotent)
    error.args = (scrub(str(error), secrets),)
    return error


def _transport_error(name: str, method: str, path: str, exc: requests.RequestException, detail: str, *,
                     idempotent: bool) -> ProviderError:
    kind = type(exc).__name__
    where = f"{name}: {method} {path}"
    if isinstance(exc, requests.exceptions.SSLError):
        return AuthError(f"{where}: TLS failed ({detail})")
    if _never_connected(exc):
        return TransientError(f"{where}: could not connect ({kind}: {detail})")
    if idempotent:
        return TransientError(f"{where}: no answer ({kind}: {detail})")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return OutcomeUnknownError(f"{where}: no answer within the read timeout; "
                                   "the provider may or may not have accepted the batch")
    return OutcomeUnknownError(f"{where}: the connection was lost before an answer ({kind}: {detail}); "
                               "the provider may or may not have accepted the batch")


class HttpClient:
    """One provider's session: base URL, auth, timeouts, error mapping, retried GETs."""

    def __init__(self, name: str, base: str, auth: AuthBase, secret: Secret, *,
                 timeout: float | tuple[float, float] = 30.0, get_retries: int = 4,
                 backoff: float = 0.5, max_backoff: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, logger: logging.Logger | None = None,
                 user_agent: str = "tsa-mailer/1"):
        self.name = name
        self.base = base
        self._secret = secret
        if isinstance(timeout, (int, float)):
            timeout = (min(float(timeout), 10.0), float(timeout))
        self.timeout = timeout
        self.get_retries = get_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.log = logger or logging.getLogger(f"mailer.providers.{name}")
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["User-Agent"] = user_agent
        if is_loopback(urlsplit(base).hostname or ""):
            self.session.trust_env = False    # a test server: never through an HTTP(S)_PROXY

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, {self.base!r})"

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, *, idempotent: bool, **kwargs) -> requests.Response:
        """One attempt. Returns a 2xx response or raises the mapped ProviderError."""
        url = self.base + path
        started = time.monotonic()
        response = None
        try:
            response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            error = error_for_transport(self.name, method, path, exc, [self._secret], idempotent=idempotent)
        else:
            error = error_for_status(self.name, response, [self._secret])
            self.log.debug("%s: %s %s -> %s in %.3fs", self.name, method, path, response.status_code,
                           time.monotonic() - started)
        # raised here, outside the except block, so that the error carries no __context__:
        # a requests exception holds the prepared request, Authorization header and all
        if error is not None:
            # INFO, not WARNING: the send loop decides what an error means and reports it
            self.log.info("%s", error)
            raise error
        return response

    def delay(self, attempt: int, error: TransientError) -> float:
        if error.retry_after is not None:
            return error.retry_after
        ceiling = min(self.max_backoff, self.backoff * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)          # "equal jitter"

    def get_json(self, path: str, params=None, headers=None):
        """GET a JSON document, retrying transient faults (GETs are safe to repeat)."""
        attempt = 0
        while True:
            try:
                response = self.request("GET", path, idempotent=True, params=params, headers=headers)
                try:
                    return response.json()
                except ValueError:
                    raise TransientError(f"{self.name}: GET {path} answered {response.status_code} "
                                         "with a body that is not JSON") from None
            except TransientError as error:
                if attempt >= self.get_retries:
                    raise
                wait = self.delay(attempt, error)
                self.log.warning("%s; retrying in %.1f s", error, wait)
                self.sleep(wait)
                attempt += 1


# --- helpers shared by the API providers ------------------------------------------------

def used_placeholders(*templates: str) -> list[str]:
    """Names of the %%placeholders%% in the templates, in first-seen order."""
    from ..mime import _PLACEHOLDER_RE

    names: dict[str, None] = {}
    for template in templates:
        for match in _PLACEHOLDER_RE.finditer(template or ""):
            names.setdefault(match.group(1), None)
    return list(names)


def unique_recipients(recipients) -> list:
    """The batch's readers, each address once (the first wins), in order."""
    seen: set[str] = set()
    unique = []
    for recipient in recipients:
        if recipient.address not in seen:
            seen.add(recipient.address)
            unique.append(recipient)
    return unique


def batch_recipients(batch, provider: str, most: int) -> list:
    """The batch's readers, each once; a batch that is empty or too big is a bug of the caller."""
    recipients = unique_recipients(batch.recipients)
    if not recipients:
        raise ValueError(f"{provider}: a batch needs at least one recipient")
    if len(recipients) > most:
        raise ValueError(f"{provider}: {len(recipients)} recipients in one batch; the most is {most}")
    return recipients


def check_values(recipients, names: Iterable[str]) -> None:
    """Every reader must have a value for every placeholder used: a missing one is a bug."""
    names = list(names)
    for index, recipient in enumerate(recipients):
        for name in names:
            if name not in recipient.vars:
                raise ValueError(f"placeholder %%{name}%% has no value for reader #{index + 1} of the batch")
