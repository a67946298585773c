"""Publishing the outbox to NATS JetStream (the ``nats`` extra: ``pip install gridgov[nats]``).

:class:`NatsPublisher` is a :class:`~gridgov.outbox.relay.Publisher` over the maintained client,
nats-py. Each message goes to JetStream with its event id as ``Nats-Msg-Id``, so a message the
relay sends again within the stream's duplicate window is stored once; the client reconnects by
itself after a broker restart, and a publish that times out meanwhile is retried by the relay.

The client is asynchronous; the publisher runs it on an event loop of its own, so that the relay
and the rest of gridgov stay synchronous.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from gridgov.errors import GridgovError, StorageError
from gridgov.outbox.relay import Message

try:
    import nats.errors
    import nats.js.errors
    from nats.aio.client import Client
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
    raise ModuleNotFoundError(
        "gridgov.outbox.nats needs nats-py: pip install 'gridgov[nats]'", name=exc.name
    ) from exc

__all__ = ["DEFAULT_STREAM", "NatsPublisher"]

_log = logging.getLogger(__name__)

DEFAULT_STREAM = "GRIDGOV"
"""The stream :class:`NatsPublisher` creates for the subjects ``gridgov.>`` if it is missing."""


async def _log_error(exc: Exception) -> None:
    _log.debug("NATS: %s: %s", type(exc).__name__, exc)


class NatsPublisher:
    """Publishes messages to NATS JetStream, one acknowledgement per message, in order.

    Args:
        servers: The NATS URL(s), e.g. ``nats://127.0.0.1:4222``.
        stream: The stream to create if no stream holds the subjects (``None``: create none).
        subjects: The subjects of that stream.
        duplicate_window: The stream's de-duplication window in seconds, when it is created.
        timeout: Seconds to wait for each acknowledgement.
        connect_timeout: Seconds to wait for the first connection.

    Raises:
        StorageError: If the broker cannot be reached at first, or the stream not created.
    """

    def __init__(
        self,
        servers: str | Sequence[str] = "nats://127.0.0.1:4222",
        *,
        stream: str | None = DEFAULT_STREAM,
        subjects: Sequence[str] = ("gridgov.>",),
        duplicate_window: float = 120.0,
        timeout: float = 5.0,
        connect_timeout: int = 5,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._servers = [servers] if isinstance(servers, str) else list(servers)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._nc: Any = None
        try:
            self._connect()
            if stream is not None:
                self._run(self._ensure_stream(stream, list(subjects), duplicate_window))
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            self.close()
            raise StorageError(f"NATS at {servers}: {type(exc).__name__}: {exc}") from None

    def _connect(self) -> None:
        """Connect, trying each server twice: a broker that is down at first is an error."""
        nc = Client()
        self._run(
            nc.connect(
                servers=self._servers,
                connect_timeout=self._connect_timeout,
                max_reconnect_attempts=2,
                reconnect_time_wait=1,
                error_cb=_log_error,
            )
        )
        # Once connected, a lost broker is waited for, however long it takes to come back.
        nc.options["max_reconnect_attempts"] = -1
        self._nc = nc
        self._js: Any = nc.jetstream(timeout=self._timeout)

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    async def _ensure_stream(self, name: str, subjects: list[str], window: float) -> None:
        try:
            await self._js.stream_info(name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(name=name, subjects=subjects, duplicate_window=window)

    async def _publish(self, messages: Sequence[Message]) -> int:
        for done, m in enumerate(messages):
            try:
                await self._js.publish(
                    m.subject,
                    m.data,
                    timeout=self._timeout,
                    headers={**m.headers, "Nats-Msg-Id": m.id},
                )
            except (TimeoutError, OSError, nats.errors.Error) as exc:
                _log.warning("NATS: %s on %s", type(exc).__name__, m.id)
                return done
        return len(messages)

    def publish(self, messages: Sequence[Message]) -> int:
        """Publish ``messages`` in order; return how many JetStream acknowledged."""
        if self._loop.is_closed():
            raise GridgovError("the publisher is closed")
        if self._nc is None or self._nc.is_closed:
            try:
                self._connect()
            except (TimeoutError, OSError, nats.errors.Error) as exc:
                _log.warning("NATS: %s while connecting", type(exc).__name__)
                return 0
        count: int = self._run(self._publish(messages))
        return count

    def close(self) -> None:
        """Drain and close the connection, then the event loop."""
        if self._loop.is_closed():
            return
        try:
            if self._nc is not None and self._nc.is_connected:
                self._run(self._nc.drain())
            elif self._nc is not None:
                self._run(self._nc.close())
        except (TimeoutError, OSError, nats.errors.Error):
            pass
        finally:
            self._loop.close()
