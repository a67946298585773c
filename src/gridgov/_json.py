"""JSON text in and out: orjson when installed (extra ``fast``), else the standard library.

Both produce the same documents (UTF-8 text, non-ASCII characters kept, no spaces), so a store
written with one reads with the other.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the installed extras
    orjson = None  # type: ignore[assignment]

__all__ = ["dumps", "loads"]


def dumps(value: Any) -> str:
    """Return compact JSON text for JSON-ready ``value``."""
    if orjson is not None:
        return orjson.dumps(value).decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Parse JSON text.

    Raises:
        ValueError: If ``text`` is not JSON (both backends raise subclasses of it).
    """
    if orjson is not None:
        return orjson.loads(text)
    return json.loads(text)
