"""The signed webhook transport against a real HTTP server on loopback, and its receipts."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.codes import PhoneNumber
from gridgov.errors import ValidationError
from gridgov.notify import Audience, Receipt
from gridgov.notify.notifier import Message, Recipient, Sent, TransportError
from gridgov.notify.transports import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookTransport,
    receipt_from_webhook,
    sign,
    verify,
)

SECRET = "a shared secret of the district"
NOW = pendulum.datetime(2026, 12, 7, 9, tz="Asia/Shanghai")
MESSAGE = Message(
    id="ev.1.family:1",
    notification_id="ev.1.family",
    event_type="care.family_to_notify",
    cell_code="610102003006001",
    to=Recipient(Audience.FAMILY, "r1:family", "田小明", PhoneNumber("13812345678")),
    text="【社区网格】……",
    language="zh",
)


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway: checks the signature, records the body, answers with the set status."""

    status = 200
    answer = b'{"id": "sms-42", "delivered": false}'
    received: ClassVar[list[tuple[dict[str, object], str]]] = []

    def do_POST(self) -> None:
        """Check and record the request; answer with ``status``."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            verify(SECRET, body, dict(self.headers), now=pendulum.now("UTC"))
            checked = "signed"
        except ValidationError:
            checked = "unsigned"
        Gateway.received.append((json.loads(body), checked))
        self.send_response(Gateway.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(Gateway.answer)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


@pytest.fixture
def gateway() -> Iterator[str]:
    """Run the gateway on a free loopback port; return its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    Gateway.received, Gateway.status = [], 200
    Gateway.answer = b'{"id": "sms-42", "delivered": false}'
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()
    server.server_close()


def test_the_gateway_gets_the_signed_message_and_its_id(gateway: str) -> None:
    """A 200 with the gateway's id: accepted, signed, with the number the gateway needs."""
    transport = WebhookTransport(gateway, SECRET)
    sent = transport.send(MESSAGE)
    transport.close()
    ((body, checked),) = Gateway.received
    assert (Sent(False, "sms-42", "HTTP 200"), "signed", "13812345678", "ev.1.family:1") == (
        sent,
        checked,
        body["to"]["phone"],  # type: ignore[index]
        body["id"],
    )


@pytest.mark.parametrize(
    ("status", "retryable"), [(503, True), (429, True), (400, False), (404, False)]
)
def test_a_refusal_says_whether_a_retry_helps(gateway: str, status: int, retryable: bool) -> None:
    """5xx and 429 are retried; other refusals are final."""
    Gateway.status = status
    transport = WebhookTransport(gateway, SECRET)
    with pytest.raises(TransportError) as caught:
        transport.send(MESSAGE)
    transport.close()
    assert (f"HTTP {status}", retryable) == (caught.value.detail, caught.value.retryable)


def test_a_gateway_that_is_not_there_is_retried() -> None:
    """No connection: a retryable TransportError, with no personal data in it."""
    transport = WebhookTransport("http://127.0.0.1:9/sms", SECRET, timeout=2)
    with pytest.raises(TransportError) as caught:
        transport.send(MESSAGE)
    transport.close()
    assert (True, False) == (caught.value.retryable, "13812345678" in str(caught.value))


def test_a_synchronous_gateway_can_say_delivered(gateway: str) -> None:
    """``"delivered": true`` in the answer: the message is delivered at once."""
    Gateway.answer = b'{"delivered": true}'
    transport = WebhookTransport(gateway, SECRET)
    assert Sent(True, "", "HTTP 200") == transport.send(MESSAGE)
    transport.close()


def _signed(body: bytes, at: pendulum.DateTime) -> dict[str, str]:
    stamp = at.int_timestamp
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(SECRET, stamp, body)}


def test_a_signed_receipt_is_read() -> None:
    """A receipt the gateway signed gives the Receipt to record."""
    body = b'{"id": "ev.1.family:1", "delivered": true, "at": "2026-12-07T09:01:00+08:00"}'
    receipt = receipt_from_webhook(SECRET, body, _signed(body, NOW), now=NOW)
    assert Receipt("ev.1.family:1", True, NOW.add(minutes=1)) == receipt


@pytest.mark.parametrize(
    ("body", "headers_at", "path"),
    [
        (b'{"id": "m:1", "delivered": "yes"}', NOW, "delivered"),
        (b'{"delivered": true}', NOW, "id"),
        (b'{"id": "m:1", "delivered": true}', NOW.subtract(minutes=6), "signature"),
        (b'{"id": "m:1", "delivered": true, "at": "yesterday"}', NOW, "at"),
    ],
)
def test_a_bad_receipt_names_its_field(
    body: bytes, headers_at: pendulum.DateTime, path: str
) -> None:
    """A wrong field, a missing id, a replayed signature: refused by name."""
    with pytest.raises(ValidationError) as caught:
        receipt_from_webhook(SECRET, body, _signed(body, headers_at), now=NOW)
    assert path == caught.value.path


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=200))
def test_a_changed_body_never_verifies(body: bytes, extra: bytes) -> None:
    """A signature checks its own body, and no other."""
    headers = _signed(body, NOW)
    verify(SECRET, body, headers, now=NOW)
    with pytest.raises(ValidationError):
        verify(SECRET, body + extra, headers, now=NOW)


def test_a_short_secret_is_refused() -> None:
    """A secret under 16 bytes is too easy to guess."""
    with pytest.raises(ValidationError) as caught:
        WebhookTransport("https://sms.example/send", "short")
    assert "secret" == caught.value.path
