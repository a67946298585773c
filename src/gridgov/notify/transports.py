"""Two transports that ship: a signed webhook for any gateway, and a log for development.

**Webhook** (:class:`WebhookTransport`, the ``notify`` extra: ``pip install "gridgov[notify]"``):
each message is POSTed as JSON to the gateway's URL, signed with a shared secret the way
Stripe and GitHub sign their webhooks, so that the gateway knows it comes from gridgov:

- ``X-Gridgov-Timestamp``: the Unix time of sending;
- ``X-Gridgov-Signature``: ``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``;
- ``Idempotency-Key``: the message id, the same when a message is sent again.

A 2xx answer means the gateway took it (its JSON may say ``"delivered": true`` and give its own
``"id"``); 408, 429, 5xx, a timeout or a connection error are retried; any other status is a
refusal. The gateway's receipts come back the same way, signed with the same secret:
:func:`receipt_from_webhook` checks one and returns the :class:`~gridgov.notify.Receipt` to
record with :func:`~gridgov.notify.notifier.record_receipt`.

**Log** (:class:`LogTransport`): writes each message as a JSON line, with the address masked,
and calls it delivered. For development and demonstrations: nobody receives anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum

from gridgov.errors import ValidationError
from gridgov.notify import Receipt
from gridgov.notify.notifier import Message, Sent, TransportError
from gridgov.serialization import parse_instant

if TYPE_CHECKING:
    import httpx

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "LogTransport",
    "WebhookTransport",
    "receipt_from_webhook",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-Gridgov-Signature"
TIMESTAMP_HEADER = "X-Gridgov-Timestamp"
_RETRIED = frozenset({408, 425, 429})


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValidationError("secret", "a webhook secret is at least 16 bytes")
    return key


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """Return the signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: pendulum.DateTime,
    tolerance_seconds: int = 300,
) -> None:
    """Check that ``body`` was signed with ``secret`` within ``tolerance_seconds`` of ``now``.

    Raises:
        ValidationError: On ``signature`` if the headers are missing, the signature is wrong,
            or it is too old or from the future (a replay).
    """
    folded = {k.lower(): v for k, v in headers.items()}
    stamp = folded.get(TIMESTAMP_HEADER.lower(), "")
    given = folded.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isascii() or not stamp.isdigit() or not given:
        raise ValidationError("signature", "the timestamp or signature header is missing")
    if abs(now.int_timestamp - int(stamp)) > tolerance_seconds:
        raise ValidationError("signature", "the signature is too old or from the future")
    if not hmac.compare_digest(sign(secret, int(stamp), body), given):
        raise ValidationError("signature", "the signature does not match the body")


def _payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "notification_id": message.notification_id,
        "event_type": message.event_type,
        "cell_code": message.cell_code,
        "audience": message.to.audience.value,
        "to": {"id": message.to.id, "name": message.to.name, "phone": message.to.phone.value},
        "text": message.text,
        "language": message.language,
    }


class WebhookTransport:
    """Posts each message, signed, to a gateway; see the module's documentation.

    Args:
        url: The gateway's endpoint (https in production: the body holds the phone number).
        secret: The shared secret (at least 16 bytes), also used to check its receipts.
        timeout: Seconds to wait for the gateway.
        client: An ``httpx.Client`` to use (connection pooling, proxies, a test transport).
    """

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        try:
            import httpx
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
            raise ModuleNotFoundError(
                "WebhookTransport needs httpx: pip install 'gridgov[notify]'", name=exc.name
            ) from None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError("url", "expected an http:// or https:// URL")
        self._httpx = httpx
        self._url = url
        self._secret = _key(secret)
        self._client = client or httpx.Client(timeout=timeout)

    def send(self, message: Message) -> Sent:
        """Post ``message``; return what the gateway said, or raise TransportError."""
        body = json.dumps(_payload(message), ensure_ascii=False, separators=(",", ":")).encode()
        stamp = pendulum.now("UTC").int_timestamp
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.id,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except self._httpx.TimeoutException:
            raise TransportError("the gateway did not answer in time", retryable=True) from None
        except self._httpx.HTTPError as exc:
            raise TransportError(f"no connection ({type(exc).__name__})", retryable=True) from None
        status = response.status_code
        if 200 <= status < 300:
            answer = _json_object(response.content)
            return Sent(
                delivered=answer.get("delivered") is True,
                provider_id=str(answer.get("id", ""))[:128],
                detail=f"HTTP {status}",
            )
        raise TransportError(f"HTTP {status}", retryable=status >= 500 or status in _RETRIED)

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


def _json_object(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content) if content else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def receipt_from_webhook(
    secret: str | bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: pendulum.DateTime,
    tolerance_seconds: int = 300,
) -> Receipt:
    """Return the receipt a gateway posted back, after checking its signature.

    The body is JSON: ``{"id": <message id>, "delivered": true|false, "at": <ISO 8601>,
    "detail": <code>}`` (``at`` defaults to ``now``).

    Raises:
        ValidationError: On ``signature`` for a bad signature, or on the field that is wrong.
    """
    verify(secret, body, headers, now=now, tolerance_seconds=tolerance_seconds)
    data = _json_object(body)
    message_id, delivered = data.get("id"), data.get("delivered")
    if not isinstance(message_id, str) or not message_id:
        raise ValidationError("id", "expected the message id")
    if not isinstance(delivered, bool):
        raise ValidationError("delivered", "expected true or false")
    at = parse_instant(data["at"]) if "at" in data else now
    return Receipt(message_id, delivered, at, str(data.get("detail", ""))[:300])


class LogTransport:
    """Writes each message as a JSON line, the address masked, and calls it delivered.

    Args:
        path: The file to append to; ``None`` keeps the lines in :attr:`lines` only.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = None if path is None else Path(path)
        self._lock = threading.Lock()
        self.lines: list[str] = []

    def send(self, message: Message) -> Sent:
        """Write ``message`` (its address masked); return it delivered."""
        line = json.dumps(
            {
                "id": message.id,
                "audience": message.to.audience.value,
                "to": message.to.phone.masked,
                "text": message.text,
            },
            ensure_ascii=False,
        )
        with self._lock:
            self.lines.append(line)
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
        return Sent(delivered=True, provider_id="log", detail="written to the log")
