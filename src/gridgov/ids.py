"""Record ids that sort by time and do not clash: the one generator gridgov makes ids with.

An id reads ``<prefix>.<UTC instant to the millisecond>.<16 characters>``, e.g.
``case.20261127010000000.01K8Z3QX7M2D9F4H``: a prefix naming the kind, the instant the record
is about (17 digits, so that ids sort by it as text), then 80 bits in Crockford's base 32, as
ULIDs carry them. The 80 bits are random, so that two processes, threads or machines making
ids at the same millisecond do not meet (two ids of one millisecond clash with a chance of
about 1 in 10^24); within one process, ids of the same millisecond are made in increasing
order, so that they sort in the order they were made.

With ``content`` the 80 bits are a digest of it instead: the same record described twice gets
the same id (a contact a phone sends again is recognised), and records that differ do not
clash. Ids need no new dependency and fit the stores' 64-character keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading

from gridgov.errors import ValidationError

__all__ = ["new_id", "new_ids"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32, in ASCII order
_BITS = 80
_TOP = 1 << _BITS
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,29}")

_lock = threading.Lock()
# Per prefix, the instant text and bits of the last random id made: ids of one kind made in one
# millisecond sort as they were made, whatever ids of other kinds are made between them.
_last: dict[str, tuple[str, int]] = {}


def _encode(bits: int) -> str:
    return "".join(_ALPHABET[(bits >> shift) & 31] for shift in range(_BITS - 5, -1, -5))


def _instant(at: dt.datetime) -> str:
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError("at", "expected a time-zone-aware instant")
    utc = dt.datetime.astimezone(at, dt.UTC)
    return f"{utc:%Y%m%d%H%M%S}{utc.microsecond // 1000:03d}"


def new_id(prefix: str, at: dt.datetime, *, content: str | None = None) -> str:
    """Return a new record id that sorts by ``at`` and clashes with no other.

    Args:
        prefix: The record kind, e.g. ``"case"``: 1-30 letters, digits, ``_ . : -``.
        at: The instant the record is about (its receipt, its contact); a pendulum DateTime
            or any time-zone-aware datetime.
        content: If given, the id is derived from it (and ``at``): the same content gives the
            same id, so a record sent twice is recognised.

    Returns:
        ``<prefix>.<YYYYMMDDHHMMSSmmm in UTC>.<16 base-32 characters>``, at most 64 characters.

    Raises:
        ValidationError: On a bad prefix or a naive instant.
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValidationError("prefix", "1-30 letters, digits, '-', '_', '.' or ':'")
    instant = _instant(at)
    if content is not None:
        digest = hashlib.blake2s(content.encode("utf-8", "surrogatepass"), digest_size=10)
        return f"{prefix}.{instant}.{_encode(int.from_bytes(digest.digest()))}"
    return _made(prefix, instant, 1)[0]


def _made(prefix: str, instant: str, count: int) -> list[str]:
    with _lock:
        bits = secrets.randbits(_BITS)
        last_instant, last_bits = _last.get(prefix, ("", 0))
        if instant == last_instant and bits <= last_bits:
            # Same millisecond: count on from the last id, so that they sort as they were made.
            bits = (last_bits + 1) % _TOP
        _last[prefix] = (instant, (bits + count - 1) % _TOP)
    return [f"{prefix}.{instant}.{_encode((bits + n) % _TOP)}" for n in range(count)]


def new_ids(prefix: str, at: dt.datetime, count: int) -> list[str]:
    """Return ``count`` new ids of one instant, in increasing order: as many :func:`new_id` calls.

    Raises:
        ValidationError: On a bad prefix or count, or a naive instant.
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValidationError("prefix", "1-30 letters, digits, '-', '_', '.' or ':'")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValidationError("count", "expected a whole number from 0")
    return _made(prefix, _instant(at), count)
