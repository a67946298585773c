"""Idempotency keys: a request sent again gets the first result, and nothing is done twice.

A client that timed out sends its request again; a phone syncs its queue twice. Every writing
service takes ``idempotency_key=``. The first call with a key does the work and remembers, in the
same unit of work, the key, what was asked (a digest of the arguments) and the result; a later call
with the key returns that result without doing anything. The key is remembered for the store's
:attr:`~gridgov.settings.Settings.requests_kept_hours` (24 by default); :func:`forget_expired`
deletes older ones. Two calls with one key at once are serialised by the key's lock: the second
waits for the first and then returns its result.

What a request asks is its arguments, less the instant the server received it: a service declares
that parameter (``received=("at",)``: the ``at`` of a report, a registration, a case action; the
``now`` of a contact), and a retry sent minutes later, stamped with a later instant, is the same
request and gets the first result.

What is *not* remembered: a call that failed (its unit of work is rolled back, so the same key
tries again), and the events a result carries for the caller to publish (they went out after the
first call: a repeat returns none, so nothing is published twice).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, get_type_hints, overload

import attrs
import pendulum

from gridgov import _validation as v
from gridgov import serialization
from gridgov.calendar import WorkCalendar
from gridgov.care.policy import CarePolicy
from gridgov.cases.workflow import CaseWorkflow
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.settings import DEFAULT_REQUESTS_KEPT, stored_settings

if TYPE_CHECKING:
    from gridgov.ports import Store, UnitOfWork

__all__ = ["RememberedRequest", "forget_expired", "idempotent", "idempotent_replaying"]

P = ParamSpec("P")
T = TypeVar("T")

_KEY_LENGTH = 128


def _check_key(field: str, value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= _KEY_LENGTH:
        raise ValidationError(field, f"expected text of 1 to {_KEY_LENGTH} characters")
    if not value.isprintable() or value != value.strip():
        raise ValidationError(field, "printable characters only, without surrounding spaces")
    return value


def _key(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_key(attribute.name, value)


@attrs.frozen
class RememberedRequest:
    """A request done once under an idempotency key, and its result.

    Args:
        id: The caller's idempotency key (a UUID, say).
        service: The service it called, e.g. ``gridgov.services.cases.report_case``.
        fingerprint: A digest of the call's arguments: the same key with other arguments is
            another request, refused.
        result: The first result as JSON text.
        at: When it was done.
        expires: When the key may be forgotten.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=_key)
    service: str = attrs.field(validator=v.text())
    fingerprint: str = attrs.field(validator=v.text(64))
    result: str = attrs.field(validator=v.instance_of(str), repr=False)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    expires: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    version: int = attrs.field(default=0, validator=v.non_negative_int)


# The rules a call runs by are not part of what it asks: the same request under a policy read
# from the store or passed explicitly is the same request.
_RULES = (CaseWorkflow, CarePolicy, WorkCalendar)


def _fingerprint(arguments: dict[str, object], received: frozenset[str]) -> str:
    asked = {
        name: serialization.unstructure(value)
        for name, value in sorted(arguments.items())
        if name not in ("uow", "idempotency_key")
        and name not in received
        and not callable(value)
        and not isinstance(value, _RULES)
    }
    text = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@overload
def idempotent(service: Callable[P, T], /) -> Callable[P, T]: ...


@overload
def idempotent(*, received: Iterable[str] = ()) -> Callable[[Callable[P, T]], Callable[P, T]]: ...


def idempotent(
    service: Callable[P, T] | None = None, /, *, received: Iterable[str] = ()
) -> Callable[P, T] | Callable[[Callable[P, T]], Callable[P, T]]:
    """Make a writing service take ``idempotency_key=``; see the module's docstring.

    The service's first parameter is its unit of work, and it declares the keyword-only
    parameter ``idempotency_key: str | None = None`` itself (for its signature and docs). Use it
    bare (``@idempotent``) or with ``received`` (``@idempotent(received=("at",))``).

    Args:
        service: The service.
        received: The parameters that tell when the request was received (the server stamps
            them, so a retry's differ): not part of what the request asks.

    Raises:
        TypeError: If ``received`` names a parameter the service does not have.
    """
    if service is None:
        return functools.partial(_remembering, replayed=None, received=received)
    return _remembering(service, None, received)


def idempotent_replaying(
    replayed: Callable[[T], T], *, received: Iterable[str] = ()
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Make a service :func:`idempotent`, its results remembered as ``replayed`` makes them.

    Args:
        replayed: What a result becomes before it is remembered, e.g. without its events.
        received: As for :func:`idempotent`.
    """
    return functools.partial(_remembering, replayed=replayed, received=received)


def _remembering(
    service: Callable[P, T], replayed: Callable[[T], T] | None, received: Iterable[str] = ()
) -> Callable[P, T]:
    signature = inspect.signature(service)
    stamped = frozenset(received)
    unknown = sorted(stamped - signature.parameters.keys())
    if unknown:
        raise TypeError(f"{service.__qualname__} has no parameter {', '.join(unknown)}")
    name = f"{service.__module__}.{service.__qualname__}"
    result_type: list[type[T]] = []  # resolved at the first call: annotations may be lazy

    @functools.wraps(service)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        if kwargs.get("idempotency_key") is None:
            return service(*args, **kwargs)
        key = _check_key("idempotency_key", kwargs["idempotency_key"])
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        uow: UnitOfWork = bound.arguments["uow"]
        # One principal's request is not another's: a repeat answers only its maker.
        principal = getattr(uow, "principal", None)
        fingerprint = _fingerprint(
            {**bound.arguments, "principal": getattr(principal, "id", None)}, stamped
        )
        if not result_type:
            result_type.append(get_type_hints(service)["return"])
        # Held before the look-up: a second call with the key waits for the first to end.
        uow.locks.hold(f"request:{key}")
        now = pendulum.now("UTC")
        prior = _remembered(uow, key, now)
        if prior is not None:
            if (prior.service, prior.fingerprint) != (name, fingerprint):
                raise ConflictError(
                    "the idempotency key was used for another request; "
                    "send this one under a new key"
                )
            return serialization.loads(prior.result, result_type[0])
        result = service(*args, **kwargs)
        kept = replayed(result) if replayed is not None else result
        settings = stored_settings(uow)
        hours = DEFAULT_REQUESTS_KEPT if settings is None else settings.requests_kept_hours
        uow.requests.add(
            RememberedRequest(
                id=key,
                service=name,
                fingerprint=fingerprint,
                result=serialization.dumps(kept),
                at=now,
                expires=now.add(hours=hours),
            )
        )
        return result

    return call


def _remembered(uow: UnitOfWork, key: str, now: pendulum.DateTime) -> RememberedRequest | None:
    """Return the request remembered under ``key``, forgetting it if it has expired."""
    try:
        prior = uow.requests.get(key)
    except NotFoundError:
        return None
    if prior.expires <= now:
        uow.requests.remove(prior)
        return None
    return prior


def forget_expired(store: Store, *, now: pendulum.DateTime, batch_size: int = 500) -> int:
    """Delete the remembered requests expired at ``now``, a batch per unit; return how many.

    Run it daily (the escalation sweep's job is a good place).
    """
    forgotten = 0
    while True:
        with store() as uow:
            done = uow.requests.forget_expired(now, limit=batch_size)
            uow.commit()
        forgotten += done
        if done < batch_size:
            return forgotten
