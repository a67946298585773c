"""Open a store from a URL: the one place that picks an adapter."""

from __future__ import annotations

from urllib.parse import urlsplit

from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import UnsupportedStoreError
from gridgov.ports import Store

__all__ = ["open_store"]


def open_store(url: str = "memory://", *, scheme: CodeScheme = DEFAULT_SCHEME) -> Store:
    """Open the store at ``url`` and return it; calling the store gives a unit of work.

    Args:
        url: ``memory://`` for the in-memory store.
        scheme: The code scheme cell codes must follow.

    Returns:
        The open store.

    Raises:
        UnsupportedStoreError: If the URL's scheme is not supported.
    """
    if not isinstance(url, str):
        raise UnsupportedStoreError("a store URL is a string such as 'memory://'")
    kind = urlsplit(url).scheme
    if kind == "memory":
        from gridgov.adapters.memory import MemoryStore

        return MemoryStore(scheme)
    raise UnsupportedStoreError(f"unsupported store URL scheme {kind!r}; supported: 'memory://'")
