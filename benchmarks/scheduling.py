"""Expand 10,000 activity series over a year and find their conflicts: gridgov against baselines.

Run: ``python -m benchmarks.scheduling [--series 10000] [--runs 3] [--naive-sample 20000]``

One venue open 07:00-22:00 every day, with 40 spaces, and a seeded community programme over
2026 (weekly, twice-weekly, fortnightly and monthly rules and weekday holiday camps; 60-180 minute
sessions starting 09:00-20:00; some end after a COUNT, some at an UNTIL, the others run on past
the year; a few EXDATEs, cancelled and moved occurrences, setup and teardown buffers, series that
skip public holidays). Generating and validating the series is not timed. Measured in one run:

- expansion: every series' ``occurrences(start, end, calendar=..., include_cancelled=True)``
  over the year, against dateutil alone: ``rrulestr(...).between(...)`` on the same rule texts
  and the same first starts (stdlib datetimes, no gridgov object), each rule parsed each time
  (gridgov keeps the last 4,096 parsed rules, so it parses each of 10,000 too). The run fails
  unless both give the same original starts once the EXDATEs and the public holidays skipped
  are taken out;
- overlaps: ``gridgov.scheduling.conflicts.overlaps`` against the pairwise comparison a developer
  would write, every pair of occurrences of the same space compared (grouped by space first),
  and the fully naive comparison of every pair of occurrences; that one runs on a seeded sample
  and is extrapolated by the number of pairs unless ``--naive-sample`` covers all of them. The
  run fails unless they find the same pairs. Target: overlaps >= 50x faster than the pairwise
  comparison by space;
- ``conflicts(occurrences, venue)``: overlaps plus opening hours, blackouts and capacity.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import importlib.metadata
import io
import math
import os
import platform
import pstats
import random
import sys
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import attrs
import pendulum
from dateutil.rrule import rrulestr

from gridgov.calendar import Period, WorkCalendar
from gridgov.scheduling.conflicts import conflicts, overlaps
from gridgov.scheduling.series import ActivitySeries, Occurrence, OccurrenceChange
from gridgov.scheduling.venues import Blackout, Space, Venue

TZ = "Asia/Shanghai"
ZONE = zoneinfo.ZoneInfo(TZ)
YEAR = 2026
WINDOW_START = pendulum.datetime(YEAR, 1, 1, tz=TZ)
WINDOW_END = pendulum.datetime(YEAR + 1, 1, 1, tz=TZ)
VENUE_ID = "v_hui"
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The calendar whose public holidays the series with skip_holidays leave out.
HOLIDAYS = WorkCalendar.china()

Pair = tuple[str, str]


# --- the programme ---------------------------------------------------------------------------


def venue(spaces: int, seed: int = 2043) -> Venue:
    """Return the venue: open 07:00-22:00 every day, ``spaces`` spaces, three blackouts."""
    rng = random.Random(seed)
    every_day = dict.fromkeys(range(7), (Period(dt.time(7), dt.time(22)),))
    return Venue(
        VENUE_ID,
        "明宫HUI客厅",
        "610102003001",
        WorkCalendar(hours=every_day, years=None, tz=TZ),
        [Space(f"s{i:02d}", f"活动室{i}", rng.randint(20, 80)) for i in range(spaces)],
        blackouts=[
            Blackout(
                pendulum.datetime(YEAR, 5, 12, 8, tz=TZ),
                pendulum.datetime(YEAR, 5, 12, 12, tz=TZ),
                "消防检查",
            ),
            Blackout(
                pendulum.datetime(YEAR, 7, 1, tz=TZ),
                pendulum.datetime(YEAR, 7, 15, tz=TZ),
                "装修",
                space_id=f"s{min(3, spaces - 1):02d}",
            ),
            Blackout(
                pendulum.datetime(YEAR, 9, 1, 13, tz=TZ),
                pendulum.datetime(YEAR, 9, 1, 18, tz=TZ),
                "设备检修",
                space_id=f"s{min(17, spaces - 1):02d}",
            ),
        ],
    )


def _rule(rng: random.Random, day: dt.date) -> tuple[str, dt.date]:
    """Return a rule text without its end, and the first day (one the rule gives)."""
    kind = rng.choices(
        ("weekly", "twice", "fortnightly", "monthly_nth", "monthly_day", "camp"),
        weights=(40, 10, 20, 12, 8, 10),
    )[0]
    if kind == "camp":  # a holiday camp every weekday, always ended by a COUNT
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return f"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT={rng.randint(5, 15)}", day
    if kind in ("monthly_nth", "monthly_day"):
        day = day.replace(day=min(day.day, 28))
        if kind == "monthly_day":
            return f"FREQ=MONTHLY;BYMONTHDAY={day.day}", day
        return f"FREQ=MONTHLY;BYDAY={(day.day - 1) // 7 + 1}{DAYS[day.weekday()]}", day
    if kind == "twice":
        days = f"{DAYS[day.weekday()]},{DAYS[(day.weekday() + 2) % 7]}"
        return f"FREQ=WEEKLY;BYDAY={days}", day
    interval = ";INTERVAL=2" if kind == "fortnightly" else ""
    return f"FREQ=WEEKLY{interval};BYDAY={DAYS[day.weekday()]}", day


def _series(i: int, rng: random.Random, spaces: int) -> ActivitySeries:
    ends = rng.choices(("count", "until", "open"), weights=(30, 30, 40))[0]
    latest = 90 if ends == "open" else 300  # day of the year of the first start, at the latest
    first = dt.date(YEAR, 1, 1) + dt.timedelta(days=rng.randrange(latest))
    text, first = _rule(rng, first)
    if "COUNT" not in text:
        if ends == "count":
            text += f";COUNT={rng.randint(4, 16)}"
        elif ends == "until":
            last = first + dt.timedelta(weeks=rng.randint(6, 26))
            text += f";UNTIL={last:%Y%m%d}T155959Z"  # 23:59:59 in Shanghai, in UTC
    hour, minute = divmod(rng.randrange(9 * 60, 20 * 60 + 1, 30), 60)
    start = pendulum.datetime(first.year, first.month, first.day, hour, minute, tz=TZ)
    buffer = rng.choices((0, 10, 15, 30), weights=(70, 10, 15, 5))[0]
    series = ActivitySeries(
        id=f"ser{i:06d}",
        title=f"活动{i}",
        organiser="社区服务站",
        venue_id=VENUE_ID,
        space_id=f"s{rng.randrange(spaces):02d}",
        start=start,
        minutes=rng.choice((60, 90, 120, 150, 180)),
        tz=TZ,
        rrule=text,
        skip_holidays=rng.random() < 0.15,
        setup_minutes=buffer,
        teardown_minutes=buffer,
        capacity=rng.randint(8, 40) if rng.random() < 0.6 else None,
    )
    if rng.random() >= 0.14:
        return series
    # A few exceptions, on originals the rule gives before December (so moved ones stay inside).
    originals = [
        pendulum.instance(d)
        for d in _dateutil_starts(series)
        if d.month < 12 and not (series.skip_holidays and d.date() in HOLIDAYS.holidays)
    ]
    if len(originals) < 3:
        return series
    picked = rng.sample(originals, 2)
    if rng.random() < 0.5:
        return attrs.evolve(series, exdates={picked[0]})
    how = rng.choice(("cancel", "later", "elsewhere"))
    change = (
        OccurrenceChange(picked[1], cancelled=True, note="讲师请假")
        if how == "cancel"
        else OccurrenceChange(picked[1], start=picked[1].add(days=1), note="改期")
        if how == "later"
        else OccurrenceChange(picked[1], space_id=f"s{rng.randrange(spaces):02d}", minutes=60)
    )
    return attrs.evolve(series, exdates={picked[0]}, changes=(change,))


def generate(count: int, spaces: int, seed: int = 2043) -> list[ActivitySeries]:
    """Return ``count`` seeded series over the year, spread over ``spaces`` spaces."""
    rng = random.Random(seed)
    return [_series(i, rng, spaces) for i in range(count)]


# --- expansion -------------------------------------------------------------------------------


def _stdlib(instant: pendulum.DateTime) -> dt.datetime:
    """Return the same wall time as a plain datetime in the zone dateutil expands in."""
    return dt.datetime(
        instant.year, instant.month, instant.day, instant.hour, instant.minute, tzinfo=ZONE
    )


Job = tuple[str, dt.datetime, dt.datetime, dt.datetime]  # rule, first start, after, before


def dateutil_jobs(series: Iterable[ActivitySeries]) -> list[Job]:
    """Return what dateutil expands for each series, in the window gridgov expands."""
    before = _stdlib(WINDOW_END)
    return [
        (
            s.rrule or "",
            _stdlib(s.start),
            _stdlib(WINDOW_START) - dt.timedelta(minutes=s.minutes),
            before,
        )
        for s in series
    ]


def expand_dateutil(jobs: list[Job]) -> list[list[dt.datetime]]:
    """Expand every rule with dateutil alone: parse it and list its starts in the window."""
    return [
        rrulestr(f"RRULE:{text}", dtstart=first).between(after, before, inc=True)
        for text, first, after, before in jobs
    ]


def _dateutil_starts(s: ActivitySeries) -> list[dt.datetime]:
    return expand_dateutil(dateutil_jobs([s]))[0]


def expand_gridgov(series: Iterable[ActivitySeries]) -> list[Occurrence]:
    """Expand every series with gridgov over the year, cancelled occurrences included."""
    found: list[Occurrence] = []
    for s in series:
        found.extend(
            s.occurrences(WINDOW_START, WINDOW_END, calendar=HOLIDAYS, include_cancelled=True)
        )
    return found


def check_expansion(
    series: list[ActivitySeries], occurrences: list[Occurrence], raw: list[list[dt.datetime]]
) -> None:
    """Fail unless gridgov gives each series the starts dateutil gives, less its exceptions."""
    by_series: dict[str, set[dt.datetime]] = defaultdict(set)
    for o in occurrences:
        by_series[o.series_id].add(o.original_start)
    for s, starts in zip(series, raw, strict=True):
        expected = {
            d
            for d in starts
            if d not in s.exdates and not (s.skip_holidays and d.date() in HOLIDAYS.holidays)
        }
        if by_series.get(s.id, set()) != expected:
            raise SystemExit(f"{s.id}: gridgov and dateutil disagree on the starts of {s.rrule}")


# --- overlaps --------------------------------------------------------------------------------


def gridgov_pairs(occurrences: list[Occurrence]) -> list[tuple[Occurrence, Occurrence]]:
    """Return the overlapping pairs gridgov's sweep finds."""
    return list(overlaps(occurrences))


def pairwise_by_space(occurrences: list[Occurrence]) -> list[tuple[Occurrence, Occurrence]]:
    """Group the occurrences by space, then compare every pair within a space."""
    by_space: dict[tuple[str, str], list[Occurrence]] = defaultdict(list)
    for o in occurrences:
        if not o.cancelled:
            by_space[(o.venue_id, o.space_id)].append(o)
    found = []
    for items in by_space.values():
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                if a.busy_start < b.busy_end and b.busy_start < a.busy_end:
                    found.append((a, b))
    return found


def pairwise_all(occurrences: list[Occurrence]) -> list[tuple[Occurrence, Occurrence]]:
    """Compare every pair of occurrences: same venue and space, and taken at the same time."""
    items = [o for o in occurrences if not o.cancelled]
    found = []
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if (
                a.space_id == b.space_id
                and a.venue_id == b.venue_id
                and a.busy_start < b.busy_end
                and b.busy_start < a.busy_end
            ):
                found.append((a, b))
    return found


def keys(pairs: Iterable[tuple[Occurrence, Occurrence]]) -> set[Pair]:
    """Return the pairs as order-free keys of occurrence ids."""
    out: set[Pair] = set()
    for a, b in pairs:
        out.add((a.id, b.id) if a.id < b.id else (b.id, a.id))
    return out


def _agree(name: str, expected: set[Pair], found: list[tuple[Occurrence, Occurrence]]) -> None:
    got = keys(found)
    if len(got) != len(found) or got != expected:
        raise SystemExit(
            f"{name} and gridgov's overlaps disagree: {len(expected):,} pairs against "
            f"{len(found):,} ({len(got - expected)} only there, {len(expected - got)} missing)"
        )


# --- main ------------------------------------------------------------------------------------


def settle() -> None:
    """Keep what exists now out of the collector's sweeps, which would charge the next timing.

    The benchmark keeps its data and each step's reference results for the whole run.
    """
    gc.collect()
    gc.freeze()


def interleaved_best_of(runs: int, *works: Callable[[], object]) -> list[float]:
    """Return the best wall time of each of ``works`` over ``runs`` rounds that run each once.

    Taking turns spreads a shared machine's busy spells over every contender alike.
    """
    best = [math.inf] * len(works)
    for _ in range(runs):
        for i, work in enumerate(works):
            gc.collect()
            start = time.perf_counter()
            work()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def profile(series: list[ActivitySeries], top: int) -> None:
    """Print where gridgov's expansion spends its time (cProfile, by own time)."""
    profiler = cProfile.Profile()
    profiler.runcall(expand_gridgov, series)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--spaces", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=20_000,
        help="occurrences the all-pairs comparison runs on (0: all of them)",
    )
    parser.add_argument("--profile", action="store_true", help="profile gridgov's expansion")
    args = parser.parse_args(argv)

    print(
        f"Python {platform.python_version()} ({sys.implementation.name}), {platform.machine()}, "
        f"{os.cpu_count()} cores; dateutil {importlib.metadata.version('python-dateutil')}, "
        f"pendulum {importlib.metadata.version('pendulum')}; best of {args.runs}",
        flush=True,
    )
    start = time.perf_counter()
    place = venue(args.spaces)
    series = generate(args.series, args.spaces)
    jobs = dateutil_jobs(series)
    print(
        f"{len(series):,} series in {args.spaces} spaces generated in "
        f"{time.perf_counter() - start:.1f} s (not timed): "
        f"{sum(1 for s in series if s.exdates):,} with an EXDATE, "
        f"{sum(1 for s in series if s.changes):,} with a changed occurrence, "
        f"{sum(1 for s in series if s.skip_holidays):,} skipping public holidays",
        flush=True,
    )

    # Expansion.
    occurrences = expand_gridgov(series)
    raw = expand_dateutil(jobs)
    check_expansion(series, occurrences, raw)
    settle()
    n_raw = sum(len(r) for r in raw)
    n_occ = len(occurrences)
    t_gridgov, t_dateutil = interleaved_best_of(
        args.runs, lambda: expand_gridgov(series), lambda: expand_dateutil(jobs)
    )
    ratio = t_gridgov / t_dateutil
    print(
        f"expansion over {YEAR} ({n_occ:,} occurrences, {n_raw:,} rule starts; the two agree)\n"
        f"  gridgov occurrences()     {t_gridgov:8.3f} s  {n_occ / t_gridgov:10,.0f} occ/s\n"
        f"  dateutil rrulestr+between {t_dateutil:8.3f} s  {n_raw / t_dateutil:10,.0f} starts/s\n"
        f"  gridgov / dateutil = {ratio:.1f}x",
        flush=True,
    )
    if args.profile:
        profile(series, 25)

    # Overlaps.
    live = [o for o in occurrences if not o.cancelled]
    per_space = Counter(o.space_id for o in live)
    found = gridgov_pairs(occurrences)
    expected = keys(found)
    if len(expected) != len(found):
        raise SystemExit("gridgov's overlaps yielded a pair twice")
    _agree("the pairwise comparison by space", expected, pairwise_by_space(occurrences))
    settle()
    t_sweep, t_space = interleaved_best_of(
        args.runs, lambda: gridgov_pairs(occurrences), lambda: pairwise_by_space(occurrences)
    )
    compared = sum(k * (k - 1) // 2 for k in per_space.values())
    booked = sum(o.busy_end.timestamp() - o.busy_start.timestamp() for o in live) / 3600
    open_hours = args.spaces * 365 * 15
    print(
        f"overlaps among {len(live):,} occurrences (cancelled ones left out; "
        f"{min(per_space.values()):,}-{max(per_space.values()):,} per space): "
        f"{len(found):,} pairs; the spaces are booked for {booked:,.0f} h of their "
        f"{open_hours:,} open hours ({booked / open_hours:.0%})\n"
        f"  gridgov overlaps()        {t_sweep:8.3f} s\n"
        f"  pairwise within a space   {t_space:8.3f} s  ({compared:,} pairs compared)\n"
        f"  pairwise / gridgov = {t_space / t_sweep:.0f}x  (target >= 50x: "
        f"{'met' if t_space / t_sweep >= 50 else 'MISSED'})",
        flush=True,
    )

    sample_size = len(live) if args.naive_sample <= 0 else min(args.naive_sample, len(live))
    sample = random.Random(7).sample(live, sample_size) if sample_size < len(live) else live
    _agree("the all-pairs comparison", keys(overlaps(sample)), pairwise_all(sample))
    settle()
    naive_runs = 1 if sample_size == len(live) else args.runs
    (t_sample,) = interleaved_best_of(naive_runs, lambda: pairwise_all(sample))
    all_pairs = len(live) * (len(live) - 1) // 2
    sample_pairs = sample_size * (sample_size - 1) // 2
    t_naive = t_sample * all_pairs / sample_pairs
    how = (
        "measured"
        if sample_size == len(live)
        else f"extrapolated from {sample_size:,} sampled occurrences "
        f"({sample_pairs:,} pairs, {t_sample:.2f} s) by the number of pairs"
    )
    print(
        f"  all pairs, every space    {t_naive:8.1f} s  ({all_pairs:,} pairs compared; {how})\n"
        f"  all pairs / gridgov = {t_naive / t_sweep:,.0f}x  (target >= 50x: "
        f"{'met' if t_naive / t_sweep >= 50 else 'MISSED'})",
        flush=True,
    )

    # Conflicts with the venue's rules.
    found_conflicts = conflicts(occurrences, place)
    settle()
    (t_conflicts,) = interleaved_best_of(args.runs, lambda: conflicts(occurrences, place))
    kinds = Counter(c.kind.value for c in found_conflicts)
    print(
        f"conflicts(occurrences, venue): {len(found_conflicts):,} conflicts "
        f"({', '.join(f'{k} {n:,}' for k, n in sorted(kinds.items()))})\n"
        f"  gridgov conflicts()       {t_conflicts:8.3f} s"
    )


if __name__ == "__main__":
    main()
