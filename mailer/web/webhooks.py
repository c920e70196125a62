"""Provider events, live: Mailgun and SendGrid webhooks, verified as each provider documents.

Mailgun (JSON webhooks): ``signature = {timestamp, token, signature}`` in the body; the
signature is the hex HMAC-SHA256 of ``timestamp + token`` keyed with the *webhook signing
key* (MAILER_MAILGUN_WEBHOOK_KEY). SendGrid (signed event webhook): the headers
``X-Twilio-Email-Event-Webhook-Signature`` (base64 DER ECDSA P-256/SHA-256 signature) and
``-Timestamp``; the signed bytes are the timestamp followed by the raw body; the key is the
public key SendGrid shows (base64 DER, MAILER_SENDGRID_WEBHOOK_KEY), checked with the
``cryptography`` library.

Replays are refused: a timestamp more than ``webhook_window`` seconds from now (401), or a
Mailgun token / SendGrid signature already seen (409; kept in ``webhook_seen``, written in
the same transaction as the events, so a request that failed can be retried by the provider).

What an event does (before the next batch of a running send: each batch is claimed from
the database with the suppressions as they are at that moment, see Store.claim):
unsubscribe -> the reader leaves (consent withdrawn, source "provider"); complaint -> complaint
suppression; permanent failure / bounce -> bounce suppression; every event is also kept in
``provider_events`` (delivered and failed with the message id, for the ledger's reconciliation).
An endpoint whose key is not set answers 404: unsigned events are never taken.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..store import Store, address_hash, normalise, now

SG_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SG_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


# --- verification (pure functions: tested with the providers' published vectors) ----------

def mailgun_valid(signing_key: str, timestamp: str, token: str, signature: str) -> bool:
    if not (signing_key and timestamp and token and signature):
        return False
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


def sendgrid_valid(public_key_b64: str, payload: bytes, signature_b64: str, timestamp: str) -> bool:
    try:
        key = load_der_public_key(base64.b64decode(public_key_b64))
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error, TypeError):
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        key.verify(signature, timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def fresh(timestamp: str, window: int, clock=time.time) -> bool:
    try:
        return abs(clock() - float(timestamp)) <= window
    except (TypeError, ValueError):
        return False


# --- events ---------------------------------------------------------------------------------

def _iso(seconds) -> str:
    try:
        return dt.datetime.fromtimestamp(float(seconds), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return now()


# an event: (kind, address, provider message id, reason, occurred at, ISO)

def mailgun_events(body: dict) -> list[tuple]:
    data = body.get("event-data") or {}
    kind = {"unsubscribed": "unsubscribed", "complained": "complaint", "delivered": "delivered"}.get(
        data.get("event"))
    if data.get("event") == "failed":
        kind = "bounce" if data.get("severity") == "permanent" else "failed"
    address = data.get("recipient")
    if not kind or not isinstance(address, str):
        return []
    message = ((data.get("message") or {}).get("headers") or {}).get("message-id", "")
    status = data.get("delivery-status") or {}
    reason = str(status.get("description") or status.get("message") or data.get("reason") or "")[:300]
    return [(kind, address, str(message), reason, _iso(data.get("timestamp")))]


_SENDGRID_KINDS = {"unsubscribe": "unsubscribed", "group_unsubscribe": "unsubscribed",
                   "spamreport": "complaint", "delivered": "delivered", "dropped": "failed",
                   "deferred": None, "processed": None, "open": None, "click": None}


def sendgrid_events(items: list) -> list[tuple]:
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("email"), str):
            continue
        name = item.get("event")
        kind = _SENDGRID_KINDS.get(name)
        if name == "bounce":
            kind = "failed" if item.get("type") == "blocked" else "bounce"
        if not kind:
            continue
        message = str(item.get("sg_message_id", "")).split(".")[0]
        out.append((kind, item["email"], message, str(item.get("reason", ""))[:300], _iso(item.get("timestamp"))))
    return out


def apply(store: Store, provider: str, replay_key: str, events: list[tuple]) -> bool:
    """Record the events and act on them, in one transaction with the replay key; False if the
    key was seen before (nothing applied)."""
    stamp = now()
    with store.transaction() as conn:
        if conn.execute("INSERT INTO webhook_seen (key, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (replay_key, stamp)).rowcount == 0:
            return False
        for kind, address, message_id, reason, occurred in events:
            hash_ = store.key(address_hash(normalise(address)))      # the keyed hash the database keeps
            conn.execute("INSERT INTO provider_events (provider, event, address_hash, message_id, reason, "
                         "occurred_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (provider, kind, hash_, message_id, reason, occurred, stamp))
            if kind == "unsubscribed":
                _unsubscribe(store, conn, hash_, provider)
            elif kind in ("complaint", "bounce"):
                store.suppress_hash(hash_, kind, provider)
        conn.execute("DELETE FROM webhook_seen WHERE received_at < ?",
                     ((dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),))
    return True


def _unsubscribe(store: Store, conn, hash_: str, provider: str) -> None:
    """Inside the open transaction: what Store.unsubscribe_hash does, for a provider's event,
    with the withdrawal in the consent history (source "provider")."""
    new = store.suppress_hash(hash_, "unsubscribed", provider)
    changed = conn.execute("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?, updated_at = ? "
                           "WHERE address_hash = ? AND status = 'subscribed'", (now(), now(), hash_)).rowcount
    if changed or new:
        store.add_consent_event_hash(hash_, given=False, at=dt.datetime.now(dt.timezone.utc), source="provider",
                                     detail=provider)


# --- the endpoints ---------------------------------------------------------------------------

def endpoint(service, provider: str):
    from .service import Locked

    async def handle(request: Request):
        config = service.config
        key = config.mailgun_key if provider == "mailgun" else config.sendgrid_key
        if not key:
            return JSONResponse({"error": "not configured"}, status_code=404)
        raw = await request.body()
        if provider == "mailgun":
            try:
                body = json.loads(raw)
                signature = body["signature"]
                timestamp, token = str(signature["timestamp"]), str(signature["token"])
                valid = mailgun_valid(key, timestamp, token, str(signature["signature"]))
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"error": "not a Mailgun webhook"}, status_code=400)
            replay_key, events = f"mailgun:{token}", (mailgun_events(body) if valid else [])
        else:
            timestamp = request.headers.get(SG_TIMESTAMP, "")
            signature = request.headers.get(SG_SIGNATURE, "")
            valid = sendgrid_valid(key, raw, signature, timestamp)
            replay_key = "sendgrid:" + hashlib.sha256(signature.encode()).hexdigest()
            try:
                events = sendgrid_events(json.loads(raw)) if valid else []
            except ValueError:
                return JSONResponse({"error": "not JSON"}, status_code=400)
        if not valid:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if not fresh(timestamp, config.webhook_window):
            return JSONResponse({"error": "timestamp too old or in the future"}, status_code=401)
        try:
            applied = await service.db(apply, provider, replay_key, events)
        except Locked:
            return JSONResponse({"error": "busy; retry"}, status_code=503, headers={"retry-after": "60"})
        if not applied:
            return JSONResponse({"error": "replayed"}, status_code=409)
        return JSONResponse({"events": len(events)})

    return handle
