"""``gridgov demo`` and ``gridgov load``: a scenario into a store, and the demo's printout."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import pendulum

from gridgov.cases import Case, CaseRole, EscalationKind, ServiceCatalogue
from gridgov.cli._common import (
    _LEVELS,
    _TZ,
    _WEEKDAYS_ZH,
    _marked,
    _open_cases,
    _overdue,
    _policy,
    _print_json,
    _Progress,
    _progress,
    _same_cells,
    _scenario_path,
    _short,
    _status,
    _table,
    _workflow,
    default_db_url,
    open_db,
    safe_url,
)
from gridgov.cli._story import family_story
from gridgov.clock import SystemClock
from gridgov.codes import mask_name
from gridgov.errors import (
    ConflictError,
    NotFoundError,
)
from gridgov.grid import GridLevel
from gridgov.households import Tag
from gridgov.ports import Store, UnitOfWork
from gridgov.scenarios import (
    GridSummary,
    LoadReport,
    Scenario,
    example_path,
    ledger_summary,
    load_scenario,
    populate,
    summary_total,
)
from gridgov.scenarios.loader import store_cases, store_programme, store_settings
from gridgov.scheduling.venues import Venue
from gridgov.services.care import Coverage, Worklist, coverage, plan_tasks, worklist
from gridgov.services.cases import EscalationEngine
from gridgov.services.scheduling import WeekSchedule, volunteer_hours, week_schedule
from gridgov.settings import indicator_targets, stored_settings
from gridgov.targets import DEFAULT_TARGETS

# The populations of the elder-care guidance, shown apart from the other ledger markers.
_CARE_TAGS = (
    Tag.LIVING_ALONE,
    Tag.EMPTY_NEST,
    Tag.LEFT_BEHIND,
    Tag.ADVANCED_AGE,
    Tag.DISABLED,
    Tag.DEMENTIA,
    Tag.SEVERE_DISABILITY,
    Tag.BEREAVED_SINGLE_CHILD_FAMILY,
    Tag.EXTREME_POVERTY_SUPPORT,
)


def _cmd_demo(args: argparse.Namespace) -> int:
    return _demo(args.today, args.scenario, args.db or default_db_url())


def _demo(today: pendulum.Date | None, scenario_path: Path | None, db: str) -> int:
    path = scenario_path if scenario_path is not None else example_path()
    scenario = load_scenario(path, households=False)
    on = today or scenario.as_of or SystemClock().today()
    store = open_db(db, scheme=scenario.scheme)
    now = pendulum.datetime(on.year, on.month, on.day, 9, tz=_TZ)  # the working day begins
    try:
        _load_unless_present(store, scenario, path, db)
        tree = scenario.tree()
        grids = tree.at_level(GridLevel.GRID) or tree.roots
        with store() as uow:
            policy = _policy(uow, scenario)
            summaries = ledger_summary(uow, grids, on)
            for root in tree.roots:
                plan_tasks(uow, root.code, now=now, policy=policy)
            worker = _busiest_worker(uow, scenario, on, now)
            work = None if worker is None else worklist(uow, worker, on=on, now=now)
            month = [
                coverage(uow, g.code, start=on.start_of("month"), end=on.add(days=1), policy=policy)
                for g in grids
            ]
            target = indicator_targets(uow, scenario.targets).visit_coverage
            uow.commit()
        programme: list[WeekSchedule] = []
        hours: dict[str, float] = {}
        with store() as uow:
            programme = [week_schedule(uow, v.id, start=now) for v in scenario.venues]
            volunteers = sorted({rid for story in scenario.shifts for rid in story.volunteers})
            hours = volunteer_hours(
                uow, volunteers, since=pendulum.datetime(on.year, on.month, 1, tz=_TZ), until=now
            )
            names = {rid: _masked_name(uow, rid) for rid in hours}
        # The story's worker is the first by id, not the busiest: the same story each run.
        first = min(
            (
                w.id
                for w in scenario.workers
                if any(r.code == "grid_worker" for r in w.roles) and w.cells_on(on)
            ),
            default=None,
        )
        story = None if first is None else family_story(store, first, now)
        open_cases: list[Case] = []
        if scenario.cases:
            with store() as uow:
                workflow = _workflow(uow, scenario)
            EscalationEngine(store, workflow).sweep(now)
            with store() as uow:
                for root in tree.roots:
                    open_cases.extend(_open_cases(uow, root.code))
    finally:
        store.close()
    volunteer_names = names
    names = {c.code: c.name for c in tree}
    print(format_summary(scenario.name, on, summaries))
    if work is not None:
        print()
        print(format_worklist(work, names=names))
    if story is not None:
        print()
        print(story)
    print()
    print(format_coverage(month, names=names, target=target))
    for schedule, venue in zip(programme, scenario.venues, strict=True):
        print()
        print(format_week(schedule, venue))
    if hours:
        print()
        print(format_volunteer_hours(hours, names=volunteer_names, month=on))
    if scenario.cases:
        print()
        print(format_open_cases(open_cases, now=now, names=names, catalogue=scenario.catalogue))
        print()
        print(format_escalations(open_cases, on=on, names=names))
    return 0


def _masked_name(uow: UnitOfWork, resident_id: str) -> str:
    try:
        return mask_name(uow.households.household_of(resident_id).member(resident_id).name)
    except NotFoundError:
        return resident_id


def format_week(schedule: WeekSchedule, venue: Venue) -> str:
    """Render a venue's coming week per space: each occurrence with its fill and waitlist.

    Args:
        schedule: The week's schedule.
        venue: The venue, for the spaces' names.

    Returns:
        The text, without a final newline.
    """
    end = schedule.start.add(days=6)
    lines = [
        f"本周活动 programme of {venue.name}, {schedule.start.format('YYYY-MM-DD')} to "
        f"{end.format('YYYY-MM-DD')}"
    ]
    rows: list[tuple[str, ...]] = []
    for space in venue.spaces:
        for entry in schedule.by_space.get(space.id, ()):
            o = entry.occurrence
            local = o.start.in_timezone(_TZ)
            places = "—" if o.capacity is None else f"{entry.confirmed}/{o.capacity}"
            rows.append(
                (
                    space.name,
                    f"{local.format('MM-DD')} {_WEEKDAYS_ZH[local.weekday()]}{_marked(o)}",
                    f"{local.format('HH:mm')}-{o.end.in_timezone(_TZ).format('HH:mm')}",
                    o.title,
                    places,
                    str(entry.waitlisted),
                )
            )
    if not rows:
        return "\n".join([*lines, "  nothing scheduled"])
    lines.append(_table(("空间 space", "日期", "时间", "活动", "报名/名额", "候补"), rows))
    return "\n".join(lines)


def format_volunteer_hours(
    hours: Mapping[str, float], *, names: Mapping[str, str], month: pendulum.Date
) -> str:
    """Render the volunteer hours credited this month, most first, names masked.

    Args:
        hours: Hours by resident id.
        names: Masked names by resident id.
        month: A day of the month.

    Returns:
        The text, without a final newline.
    """
    ranked = sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [(names.get(rid, rid), f"{h:g}") for rid, h in ranked]
    head = f"志愿服务时长 volunteer hours, {month.format('YYYY-MM')} (completed shifts)"
    return f"{head}\n{_table(('志愿者 volunteer', '小时'), rows)}"


def format_open_cases(
    cases: Sequence[Case],
    *,
    now: pendulum.DateTime,
    names: Mapping[str, str],
    catalogue: ServiceCatalogue,
) -> str:
    """Render the open cases by the level that owns them, with their running deadlines.

    Args:
        cases: The open cases.
        now: The instant deadlines are judged at.
        names: Cell names by code.
        catalogue: For the categories' labels.

    Returns:
        The text, without a final newline.
    """
    head = f"在办事件 open cases at {now.format('YYYY-MM-DD HH:mm')} by level: {len(cases)}"
    rows = []
    for level in _LEVELS:
        at_level = [c for c in cases if c.owner_level is level]
        overdue = sum(1 for c in at_level if _overdue(c, now))
        rows.append((f"{level.label_zh}级 {level.value}", len(at_level), overdue))
    lines = [head, _table(("层级 level", "件数", "超期"), rows)]
    for case in sorted(cases, key=lambda c: (c.owner_level.depth, c.reported_at, c.id)):
        label = (
            catalogue.get(case.category).label_zh if case.category in catalogue else case.category
        )
        deadline = case.current_deadline
        due = (
            ""
            if deadline is None
            else f"{deadline.stage.label_zh}时限 {_short(deadline.due)}{_marked(deadline)}"
        )
        late = " 超期 overdue" if _overdue(case, now) else ""
        lines.append(
            f"  {case.id} {label} {case.state.label_zh} "
            f"{names.get(case.owner_cell, case.owner_cell)} {due}{late}"
        )
    return "\n".join(lines)


def format_escalations(
    cases: Sequence[Case], *, on: pendulum.Date, names: Mapping[str, str]
) -> str:
    """Render the escalations recorded on ``on`` in the cases' histories, in time order.

    Args:
        cases: The cases to look through.
        on: The day.
        names: Cell names by code.

    Returns:
        The text, without a final newline.
    """
    rows = sorted(
        (
            (entry.at, case, entry, previous)
            for case in cases
            for previous, entry in zip((None, *case.history[:-1]), case.history, strict=True)
            if entry.role == CaseRole.SYSTEM.value and entry.at.in_timezone(_TZ).date() == on
        ),
        key=lambda row: (row[0], row[1].id),
    )
    lines = [f"今日督办 escalations on {on.isoformat()}: {len(rows)}"]
    for at, case, entry, previous in rows:
        kind = EscalationKind(entry.action)
        moved = ""
        if previous is not None and previous.owner_cell != entry.owner_cell:
            before = names.get(previous.owner_cell, previous.owner_cell)
            moved = f" {before} → {names.get(entry.owner_cell, entry.owner_cell)}"
        lines.append(
            f"  {at.in_timezone(_TZ).format('HH:mm')} {case.id} {kind.label_zh}{moved}: "
            f"{entry.note}"
        )
    return "\n".join(lines)


_WORKLIST_ROWS = 12


def _busiest_worker(
    uow: UnitOfWork, scenario: Scenario, on: pendulum.Date, now: pendulum.DateTime
) -> str | None:
    """Return the grid worker with the most tasks today: the demo's example worklist."""
    grid_workers = [
        w
        for w in scenario.workers
        if any(r.code == "grid_worker" for r in w.roles) and w.cells_on(on)
    ]
    lists = [(len(worklist(uow, w.id, on=on, now=now)), w.id) for w in grid_workers]
    return max(lists)[1] if lists else None


def format_worklist(work: Worklist, *, names: Mapping[str, str]) -> str:
    """Render a worklist: buildings along the route, households, tasks and why.

    Args:
        work: The worklist.
        names: Cell names by code.

    Returns:
        The text, at most a dozen task lines, without a final newline.
    """
    lines = [
        f"今日探访清单 worklist of {work.worker_id} on {work.on.isoformat()}: "
        f"{len(work)} tasks in {len(work.stops)} buildings"
    ]
    shown = 0
    for stop in work.stops:
        if shown >= _WORKLIST_ROWS:
            break
        lines.append(f"  {names.get(stop.cell_code, stop.name)}")
        for household in stop.households:
            for entry in household.entries:
                if shown >= _WORKLIST_ROWS:
                    break
                lines.append(f"    {household.household.address} {entry}")
                shown += 1
    if len(work) > shown:
        lines.append(f"  ... and {len(work) - shown} more")
    return "\n".join(lines)


def format_coverage(
    rows: Sequence[Coverage],
    *,
    names: Mapping[str, str],
    target: float | None = DEFAULT_TARGETS.visit_coverage,
) -> str:
    """Render each grid's visiting coverage for the period.

    Args:
        rows: One coverage per grid.
        names: Cell names by code.
        target: The visit coverage target (:mod:`gridgov.targets`), if any.

    Returns:
        The text, without a final newline.
    """
    if not rows:
        return "no grids"
    first = rows[0]
    head = (
        f"本月探访覆盖 visiting coverage {first.start.isoformat()} to "
        f"{first.end.subtract(days=1).isoformat()}"
        + ("" if target is None else f" (target {target:.0%})")
    )
    table = _table(
        ("网格", "探访对象", "已联系", "联系率", "按频次", "达标率", "未达标"),
        [
            (
                names.get(c.cell_code, c.cell_code),
                c.covered,
                c.contacted,
                f"{c.contacted_share:.0%}",
                c.on_cadence,
                f"{c.on_cadence_share:.0%}",
                len(c.missed),
            )
            for c in rows
        ],
    )
    return f"{head}\n{table}"


def _load_unless_present(
    store: Store,
    scenario: Scenario,
    path: Path,
    db: str,
    *,
    progress: _Progress | None = None,
    quiet: bool = False,
) -> LoadReport | None:
    """Load the whole scenario into an empty store; reuse a store that holds exactly its cells.

    Args:
        store: The store.
        scenario: The scenario, read without its households.
        path: Where it was read from, to read it whole.
        db: The store's URL, for the messages.
        progress: The bar advanced as the households are stored.
        quiet: Print no status line.

    Returns:
        What was stored, or ``None`` if the store held the scenario already.

    Raises:
        ConflictError: If the store holds other data: gridgov never mixes two ledgers.
    """
    with store() as uow:
        stored = uow.cells.tree()
    if len(stored):
        if not _same_cells(stored, scenario):
            raise ConflictError(
                f"the store at {safe_url(db)} holds other data than {scenario.name}; "
                "choose another --db, or delete that store to start over"
            )
        _status(f"using {scenario.name} already in {safe_url(db)}", quiet=quiet)
        _add_what_is_missing(store, scenario, path, quiet=quiet)
        return None
    full = load_scenario(path)
    if progress is None:
        report = populate(store, full)
    else:
        progress.total = len(full.households)
        with progress:
            report = populate(store, full, progress=progress)
    _status(
        f"loaded {scenario.name} into {safe_url(db)}: {report.cells} cells, "
        f"{report.workers} workers, {report.households} households, {report.residents} residents, "
        f"{report.contacts} contacts, {report.cases} cases, {report.series} activity series, "
        f"{report.registrations} registrations",
        quiet=quiet,
    )
    return report


def _stored(get: Callable[[str], object], key: str) -> bool:
    """Return whether ``get`` finds ``key``."""
    try:
        get(key)
    except NotFoundError:
        return False
    return True


def _add_what_is_missing(
    store: Store, scenario: Scenario, path: Path, *, quiet: bool = False
) -> None:
    """Add the cases, components and programme to a store loaded by a gridgov without them."""
    with store() as uow:
        need_cases = bool(scenario.cases) and not _stored(uow.cases.get, scenario.cases[0].id)
        # Settings saved by an older gridgov lack the calendar, care policy and scenario name.
        stored = stored_settings(uow)
        need_settings = store_settings(uow, scenario) != stored
        need_programme = bool(scenario.venues) and not _stored(
            uow.venues.get, scenario.venues[0].id
        )
        need_components = bool(scenario.components) and not _stored(
            uow.components.get, scenario.components[0].id
        )
        if not (need_cases or need_programme or need_settings or need_components):
            return
        added = ["its settings"] if need_settings else []
        if need_components:  # before the cases, which may name them
            added.append(f"{uow.components.add_many(scenario.components)} components")
        if need_cases:
            added.append(f"{store_cases(uow, scenario)} cases")
        if need_programme:
            full = load_scenario(path)  # registrations and sign-ups come with the ledger
            series, registrations = store_programme(uow, full)
            added.append(f"{series} activity series, {registrations} registrations")
        uow.commit()
    _status(f"added {' and '.join(added)} of {scenario.name}", quiet=quiet)


def format_summary(title: str, on: pendulum.Date, summaries: Sequence[GridSummary]) -> str:
    """Render ledger summaries as fixed-width tables with Chinese labels and a total row.

    Args:
        title: The scenario's name.
        on: The date the ages were computed on.
        summaries: One summary per grid.

    Returns:
        The text, without a final newline.
    """
    total = summary_total(summaries)
    rows = [*summaries, total]
    other_tags = [t for t, _ in total.tags if t not in _CARE_TAGS]
    population = _table(
        ("网格", "户数", "在住", "拆迁外迁", "空置", "迁出", "居民", "60-69岁", "70-79岁", "80岁+"),
        [
            (
                s.name,
                s.households,
                s.resident_households,
                s.relocated_households,
                s.vacant_households,
                s.moved_out_households,
                s.residents,
                s.aged_60_69,
                s.aged_70_79,
                s.aged_80_plus,
            )
            for s in rows
        ],
    )
    care, other = (
        _table(
            ("网格", *(t.label_zh for t in tags)),
            [(s.name, *(s.tag_count(t) for t in tags)) for s in rows],
        )
        for tags in (_CARE_TAGS, other_tags)
    )
    return "\n".join(
        [
            f"{title}: 台账汇总 ledger summary on {on.isoformat()}",
            "",
            "户数与人口 households and residents (residents: 在住 and 拆迁外迁 households)",
            population,
            "",
            "重点人群 key populations: residents carrying each tag",
            care,
            "",
            other,
        ]
    )


def _cmd_load(args: argparse.Namespace) -> int:
    path = _scenario_path(args.scenario)
    scenario = load_scenario(path, households=False)
    db = args.db or default_db_url()
    store = open_db(db, scheme=scenario.scheme)
    try:
        report = _load_unless_present(
            store, scenario, path, db, progress=_progress(args, "households"), quiet=args.quiet
        )
    finally:
        store.close()
    if args.json:
        _print_json(
            {
                "scenario": scenario.name,
                "store": safe_url(db),
                "loaded": report is not None,
                "counts": None if report is None else attrs.asdict(report),
            }
        )
    return 0
