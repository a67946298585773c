"""Testing helpers that are part of the public API.

- :class:`~gridgov.clock.ManualClock`: a clock tests and simulations move by hand (kept here
  for the imports that find it here).
- :func:`leaked`: the texts of an output (a log, an export, a JSON document) that hold any of a
  set of personal values (ID numbers, phones, names).
- :mod:`gridgov.testing.contracts`: the conformance kit every storage adapter passes (needs the
  ``testing`` extra: pytest and hypothesis).
- :mod:`gridgov.testing.strategies`: hypothesis strategies for every domain type.
"""

from __future__ import annotations

from collections.abc import Iterable

from gridgov.clock import ManualClock

__all__ = ["ManualClock", "leaked"]


def leaked(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Return the texts that hold any of ``secrets``, in order.

    Fast on a whole ledger's values: each text is cut into the secrets' lengths and looked up,
    so the cost grows with the texts' length, not with texts times secrets.
    """
    wanted = {s for s in secrets if s}
    lengths = sorted({len(s) for s in wanted})
    return [
        t
        for t in texts
        if any(t[i : i + n] in wanted for n in lengths for i in range(len(t) - n + 1))
    ]
