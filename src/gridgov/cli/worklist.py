"""``gridgov worklist``: a grid worker's worklist for a day."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import pendulum

from gridgov.cli._common import (
    _TZ,
    _day,
    _fields,
    _iso,
    _ledger,
    _names,
    _nine,
    _outermost,
    _policy,
    _print_json,
    _table,
)
from gridgov.codes import mask_name
from gridgov.services.care import Worklist, plan_tasks, worklist


def _cmd_worklist(args: argparse.Namespace) -> int:
    with _ledger(args) as (scenario, store, tree):
        on = _day(args.date, scenario)
        now = _nine(on)
        with store() as uow:
            worker = uow.workers.get(args.worker)
            policy = _policy(uow, scenario)
            planned = sum(
                len(plan_tasks(uow, code, now=now, policy=policy))
                for code in _outermost(worker.cells_on(on))
            )
            work = worklist(uow, worker.id, on=on, now=now)
            uow.commit()
    if args.json:
        _print_json(_worklist_json(work, now=now, planned=planned))
    else:
        print(_format_full_worklist(work, now=now, names=_names(tree)))
    return 0


def _worklist_json(work: Worklist, *, now: pendulum.DateTime, planned: int) -> dict[str, object]:
    """Return the worklist's projection, with the instant it was made at and what was planned."""
    return {**_fields(work), "at": _iso(now), "planned": planned, "tasks": len(work)}


def _format_full_worklist(
    work: Worklist, *, now: pendulum.DateTime, names: Mapping[str, str]
) -> str:
    """Render every task of a worklist, building by building along the route."""
    head = (
        f"今日探访清单 worklist of {work.worker_id} on {work.on.isoformat()} at "
        f"{now.in_timezone(_TZ).format('HH:mm')}: {len(work)} tasks in {len(work.stops)} buildings"
    )
    rows = [
        (
            names.get(stop.cell_code, stop.name),
            str(h.household.address),
            e.status.label_zh,
            mask_name(e.resident.name),
            e.task.method.label_zh,
            e.task.due.in_timezone(_TZ).format("MM-DD HH:mm"),
            e.task.reason_zh,
        )
        for stop in work.stops
        for h in stop.households
        for e in h.entries
    ]
    if not rows:
        return f"{head}\n  no tasks"
    header = ("楼栋 building", "地址 address", "状态", "对象", "方式", "截止 due", "原因 reason")
    return f"{head}\n{_table(header, rows, align='lllllll')}"
