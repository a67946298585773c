"""``gridgov schedule``: each venue's programme for a week."""

from __future__ import annotations

import argparse

from gridgov.cli._common import (
    _day,
    _iso,
    _ledger,
    _midnight,
    _print_json,
    _projected,
    _venues,
)
from gridgov.cli.demo import format_week
from gridgov.scheduling.venues import Venue
from gridgov.services.scheduling import WeekSchedule, week_schedule


def _cmd_schedule(args: argparse.Namespace) -> int:
    with _ledger(args) as (scenario, store, tree):
        day = _day(args.week, scenario)
        start = _midnight(day)
        with store() as uow:
            venues = [uow.venues.get(args.venue)] if args.venue else _venues(uow, tree)
            weeks = [week_schedule(uow, v.id, start=start) for v in venues]
    if args.json:
        _print_json(
            {
                "start": _iso(start),
                "end": _iso(start.add(days=7)),
                "venues": [_week_json(w, v) for w, v in zip(weeks, venues, strict=True)],
            }
        )
    elif not venues:
        print("no venues")
    else:
        print("\n\n".join(format_week(w, v) for w, v in zip(weeks, venues, strict=True)))
    return 0


def _week_json(schedule: WeekSchedule, venue: Venue) -> dict[str, object]:
    return {
        "id": venue.id,
        "name": venue.name,
        "spaces": [
            {
                "id": space.id,
                "name": space.name,
                "occurrences": _projected(schedule.by_space.get(space.id, ())),
            }
            for space in venue.spaces
        ],
    }
