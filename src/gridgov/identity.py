"""The keyed digest of national ID numbers: one person found across households, grids and lists.

A store keeps each resident's ID number once, in the household's document. To find the same
person elsewhere (a second household, another grid, a hospital's discharge list) without a
second copy of the number, every resident row also holds a *digest*: HMAC-SHA256 of the
normalised number (:meth:`gridgov.codes.NationalId.normalise`: full-width digits folded, spaces
and dashes dropped, upper-case ``X``) under a secret :class:`IdKey`.

Why keyed: ID numbers are few and structured (an address code, a birth date, a sequence and a
check digit: about 10^10 plausible numbers per district), so a plain hash (SHA-256 of the number)
is reversed by hashing every candidate in minutes. Under a key the digests tell nothing to whoever
holds the database alone.

Why the key is never stored with the data: a key kept in the same database (or a per-store key
generated into it) is read by whoever reads the digests, and then the digests are as good as the
numbers. The deployment holds it (a secret store, an environment variable,
:data:`ID_KEY_VARIABLE`), and gives it to :func:`gridgov.bootstrap.open_store` (``id_key=``).

Without a key, no digest is computed: the digest column stays NULL, and finding people by ID
number (:func:`gridgov.services.identity.find_person`, the duplicates report, matching lists)
raises :class:`~gridgov.errors.ValidationError` on ``id_key``. :func:`rehash_ids` fills the
digests later, and recomputes them all when the key changes (rotation).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from gridgov.codes import MaskedNationalId, NationalId
from gridgov.errors import ValidationError

__all__ = [
    "DIGEST_LENGTH",
    "ID_KEY_VARIABLE",
    "IdKey",
    "KeyedStore",
    "check_id_key",
    "rehash_ids",
    "require_key",
]

ID_KEY_VARIABLE = "GRIDGOV_ID_KEY"
"""The environment variable the command reads the ID key from (hex, at least 32 digits)."""

DIGEST_LENGTH = 64
"""The length of a digest: SHA-256 as 64 lower-case hex digits."""

_MIN_BYTES = 16
# Domain separation: the same key used elsewhere (another gridgov field later) gives other digests.
_CONTEXT = b"gridgov:national-id:v1:"


def _check_secret(_inst: object, _attr: attrs.Attribute[bytes], value: bytes) -> None:
    if not isinstance(value, bytes):
        raise ValidationError("id_key", "expected bytes")
    if len(value) < _MIN_BYTES:
        raise ValidationError("id_key", f"an ID key is at least {_MIN_BYTES} bytes")


@attrs.frozen(repr=False)
class IdKey:
    """The deployment's secret key for the digests of ID numbers.

    ``repr`` and ``str`` show only a fingerprint (a digest of a constant under the key), which
    tells two keys apart and nothing of either.

    Args:
        secret: At least 16 random bytes (32 recommended: ``secrets.token_bytes(32)``).

    Raises:
        ValidationError: On ``id_key`` if the secret is not bytes or too short.
    """

    secret: bytes = attrs.field(validator=_check_secret)

    @classmethod
    def from_text(cls, text: str) -> IdKey:
        """Return the key written as hex (``secrets.token_hex(32)``), at least 32 digits.

        Raises:
            ValidationError: On ``id_key``; the message never repeats the text.
        """
        if not isinstance(text, str):
            raise ValidationError("id_key", "expected hex text")
        try:
            secret = bytes.fromhex(text.strip())
        except ValueError:
            raise ValidationError("id_key", "an ID key is written as hex digits") from None
        return cls(secret)

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, name: str = ID_KEY_VARIABLE
    ) -> IdKey | None:
        """Return the key in the environment variable ``name``, ``None`` if unset or empty.

        Raises:
            ValidationError: On ``id_key`` if the variable is set but not a valid key.
        """
        text = (os.environ if environ is None else environ).get(name, "")
        return cls.from_text(text) if text.strip() else None

    @property
    def fingerprint(self) -> str:
        """Return 8 hex digits that tell this key from another, and reveal nothing of it."""
        return hmac.new(self.secret, b"gridgov:fingerprint", hashlib.sha256).hexdigest()[:8]

    def digest(self, national_id: NationalId | str) -> str:
        """Return the digest of an ID number: 64 hex digits, the same for every spelling of it.

        Args:
            national_id: A :class:`NationalId`, or text as typed (full-width, lower-case ``x``,
                spaces, 15-digit old numbers: see :meth:`NationalId.normalise`).

        Raises:
            ValidationError: On ``national_id`` if it is not a valid ID number, or a masked one
                (a masked number stands for many people); the message never repeats it.
        """
        if isinstance(national_id, MaskedNationalId):
            raise ValidationError("national_id", "a masked ID number has no digest")
        if not isinstance(national_id, NationalId):
            try:
                national_id = NationalId.normalise(national_id)
            except ValidationError as exc:
                raise exc.within("national_id") from None
        value = _CONTEXT + national_id.value.encode("ascii")
        return hmac.new(self.secret, value, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"IdKey(fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Never pickled into a log, a queue or a crash report: the key stays in its process.
        raise TypeError("an IdKey is not pickled")


@runtime_checkable
class KeyedStore(Protocol):
    """A store that computes ID digests (every built-in store; a plug-in may not)."""

    @property
    def id_key(self) -> IdKey | None:
        """Return the key the store computes digests with, ``None`` if it has none."""
        ...

    def rehash_ids(self, key: IdKey | None, *, batch_size: int = 500) -> int:
        """Use ``key`` from now on and recompute every stored digest; return the rows written."""
        ...


def rehash_ids(store: object, key: IdKey | None, *, batch_size: int = 500) -> int:
    """Make ``store`` compute digests under ``key`` and recompute every stored one.

    Run it once a key is first configured for a store that had none (its older residents' digests
    are NULL), and when the key rotates: the store takes the new key at once, then rewrites the
    digests household by household, ``batch_size`` a transaction, so a large store is never held
    in one. Until it ends, residents not yet rewritten are not found by the new key. Every other
    process writing the store must be given the new key too. ``key=None`` clears the digests.

    Args:
        store: The store (it must be a :class:`KeyedStore`).
        key: The key, or ``None``.
        batch_size: Households a transaction.

    Returns:
        How many resident rows were written.

    Raises:
        ValidationError: On ``store`` if it computes no digests, or on ``batch_size``.
    """
    if not isinstance(store, KeyedStore):
        raise ValidationError("store", "this store computes no ID digests")
    return store.rehash_ids(check_id_key(key), batch_size=batch_size)


def check_id_key(id_key: object) -> IdKey | None:
    """Return ``id_key`` if it is an :class:`IdKey` or ``None``.

    Raises:
        ValidationError: Naming ``id_key`` otherwise (a key given as text is refused: read it
            with :meth:`IdKey.from_text`).
    """
    if id_key is not None and not isinstance(id_key, IdKey):
        raise ValidationError("id_key", "expected an IdKey (IdKey.from_text reads hex)")
    return id_key


def require_key(key: object) -> IdKey:
    """Return ``key`` if it is an :class:`IdKey`, else raise ValidationError on ``id_key``."""
    if key is None:
        raise ValidationError(
            "id_key",
            f"no ID key is configured: finding people by ID number needs the deployment's key "
            f"(set {ID_KEY_VARIABLE}, or open the store with id_key=)",
        )
    if not isinstance(key, IdKey):
        raise ValidationError("id_key", "expected an IdKey")
    return key
