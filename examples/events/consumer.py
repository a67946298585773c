"""A consumer of gridgov's events: open cases per street, built from JetStream alone.

Run ``gridgov relay`` against a store, then::

    python examples/events/consumer.py --nats nats://127.0.0.1:4222 --stream GRIDGOV

It reads every case event of the stream, drops what it has seen (by event id: the relay
publishes at least once), checks each case's events come in sequence, and prints the number of
open cases per street: the figure a city dashboard shows, equal to what the store says
(``uow.cases.open_in_subtree(street)``), without reading the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from collections.abc import Mapping

from gridgov.cases import CaseState
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.grid import GridLevel


class OpenCasesPerStreet:
    """A projection of case events: each case's street and whether it is open.

    Args:
        scheme: The deployment's cell code scheme (a street's code is a prefix of its cells').
    """

    def __init__(self, scheme: CodeScheme = DEFAULT_SCHEME) -> None:
        self._street = scheme.length(GridLevel.STREET)
        self._cases: dict[str, tuple[str, bool]] = {}  # case id -> (street, open)
        self._last: dict[str, int] = {}  # case id -> the last number applied
        self.duplicates = 0

    def apply(self, event: Mapping[str, object]) -> None:
        """Apply one CloudEvent; an event seen before is counted and dropped.

        Raises:
            ValueError: If a case's events skip a number (the relay promises none does).
        """
        if event.get("aggregate") != "case":
            return
        case_id, number = str(event["aggregateid"]), int(str(event["sequence"]))
        last = self._last.get(case_id, 0)
        if number <= last:
            self.duplicates += 1
            return
        if number != last + 1:
            raise ValueError(f"case {case_id}: event {number} came after {last}")
        self._last[case_id] = number
        data = event["data"]
        assert isinstance(data, Mapping)
        street = str(event["cellcode"])[: self._street]
        if event["type"] == "gridgov.case.reported":
            self._cases[case_id] = (street, True)
        elif event["type"] == "gridgov.case.state_changed":
            self._cases[case_id] = (street, CaseState(str(data["to_state"])).is_open)

    def counts(self) -> dict[str, int]:
        """Return the open cases per street code (streets without any left out)."""
        return dict(sorted(Counter(s for s, is_open in self._cases.values() if is_open).items()))


async def consume(
    url: str, stream: str, prefix: str, projection: OpenCasesPerStreet, *, wait: float = 2.0
) -> int:
    """Apply every case event the stream holds to ``projection``; return how many were read.

    Reads with an ephemeral pull consumer until nothing more arrives within ``wait`` seconds.
    """
    import nats
    import nats.errors

    nc = await nats.connect(url)
    read = 0
    try:
        subscription = await nc.jetstream().pull_subscribe(f"{prefix}.case.>", stream=stream)
        while True:
            try:
                messages = await subscription.fetch(batch=500, timeout=wait)
            except (nats.errors.TimeoutError, TimeoutError):  # either, by the path taken
                return read
            for message in messages:
                projection.apply(json.loads(message.data))
                await message.ack()
                read += 1
    finally:
        await nc.close()


def main() -> None:
    """Consume the stream and print open cases per street."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--stream", default="GRIDGOV")
    parser.add_argument("--prefix", default="gridgov")
    args = parser.parse_args()
    projection = OpenCasesPerStreet()
    read = asyncio.run(consume(args.nats, args.stream, args.prefix, projection))
    print(f"{read} case events read, {projection.duplicates} duplicates dropped")
    for street, count in projection.counts().items():
        print(f"{street}  {count} open")


if __name__ == "__main__":
    main()
