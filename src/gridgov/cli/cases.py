"""``gridgov cases`` and ``gridgov sweep``: a subtree's cases; the escalation and overdue sweeps."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

import pendulum

from gridgov.care.contacts import TaskKind
from gridgov.cases import Case, ServiceCatalogue
from gridgov.cases.workflow import Escalation
from gridgov.cli._common import (
    _all_cases,
    _catalogue,
    _fields,
    _instant,
    _iso,
    _ledger,
    _marked,
    _names,
    _nine,
    _open_cases,
    _overdue,
    _print_json,
    _projected,
    _short,
    _table,
    _workflow,
)
from gridgov.clock import SystemClock
from gridgov.errors import (
    NotFoundError,
)
from gridgov.events import TaskOverdue
from gridgov.services.cases import EscalationEngine
from gridgov.services.overdue import sweep_overdue


def _cmd_cases(args: argparse.Namespace) -> int:
    with _ledger(args) as (scenario, store, tree):
        if args.at is not None:
            at = _instant(args.at, "--at")
        else:
            at = _nine(scenario.as_of) if scenario.as_of else SystemClock().now()
        if args.cell is not None and args.cell not in tree:
            raise NotFoundError("cell", args.cell)
        roots = [args.cell] if args.cell is not None else [c.code for c in tree.roots]
        with store() as uow:
            listed = _all_cases if args.all else _open_cases
            found = [case for code in roots for case in listed(uow, code)]
            catalogue = _catalogue(uow, scenario)
    names = _names(tree)
    if args.json:
        _print_json(
            {
                "cell": args.cell,
                "at": _iso(at),
                "open_only": not args.all,
                "cases": [_case_json(c, at=at, names=names, catalogue=catalogue) for c in found],
            }
        )
        return 0
    where = " and ".join(names[code] for code in roots)
    which = "all cases" if args.all else "open cases"
    head = f"事件 {which} in {where} at {_short(at)}: {len(found)}"
    rows = []
    for case in found:
        deadline = case.current_deadline
        rows.append(
            (
                case.id,
                _category_label(case, catalogue),
                case.state.label_zh,
                f"{case.owner_level.label_zh}级",
                names.get(case.owner_cell, case.owner_cell),
                "—"
                if deadline is None
                else f"{deadline.stage.label_zh} {_short(deadline.due)}{_marked(deadline)}",
                "超期 overdue" if _overdue(case, at) else "",
            )
        )
    if not rows:
        print(head)
        return 0
    header = ("编号 case", "类别", "状态", "层级 level", "承办 owner", "时限 deadline", "超期")
    print(f"{head}\n{_table(header, rows, align='lllllll')}")
    return 0


def _category_label(case: Case, catalogue: ServiceCatalogue) -> str:
    return catalogue.get(case.category).label_zh if case.category in catalogue else case.category


def _case_json(
    case: Case, *, at: pendulum.DateTime, names: Mapping[str, str], catalogue: ServiceCatalogue
) -> dict[str, object]:
    """Return the case's projection, with labels, its running deadline and whether it is late."""
    deadline = case.current_deadline
    return {
        **_fields(case),
        "category_label": _category_label(case, catalogue),
        "owner_name": names.get(case.owner_cell, case.owner_cell),
        "deadline": None if deadline is None else _projected(deadline),
        "overdue": _overdue(case, at),
    }


def _cmd_sweep(args: argparse.Namespace) -> int:
    at = _instant(args.at, "--at")
    cases, care = args.what in ("cases", "all"), args.what in ("care", "all")
    with _ledger(args) as (scenario, store, tree):
        fired: tuple[Escalation, ...] = ()
        if cases:
            with store() as uow:
                workflow = _workflow(uow, scenario)
            fired = EscalationEngine(store, workflow).sweep(at)
        overdue = sweep_overdue(store, at) if care else ()
    if args.json:
        document: dict[str, object] = {"at": _iso(at)}
        if cases:
            document["escalations"] = _projected(fired)
        if care:
            document["overdue"] = _projected(overdue)
        _print_json(document)
        return 0
    names = _names(tree)
    parts = [_format_sweep(fired, at=at, names=names)] if cases else []
    if care:
        parts.append(_format_overdue(overdue, at=at, names=names))
    print("\n\n".join(parts))
    return 0


def _format_overdue(
    marked: Sequence[TaskOverdue], *, at: pendulum.DateTime, names: Mapping[str, str]
) -> str:
    head = f"逾期 overdue care tasks at {_short(at)}: {len(marked)}"
    if not marked:
        return head
    rows = [
        (
            e.task_id,
            TaskKind(e.kind).label_zh,
            _short(e.due),
            names.get(e.cell_code, e.cell_code),
            e.resident_id,
        )
        for e in marked
    ]
    header = ("任务 task", "类别 kind", "到期 due", "网格 cell", "居民 resident")
    return f"{head}\n{_table(header, rows, align='lllll')}"


def _format_sweep(
    fired: Sequence[Escalation], *, at: pendulum.DateTime, names: Mapping[str, str]
) -> str:
    head = f"督办 escalations at {_short(at)}: {len(fired)}"
    if not fired:
        return head
    rows = []
    for e in fired:
        owner = names.get(e.to_cell, e.to_cell)
        if e.from_cell != e.to_cell:
            owner = f"{names.get(e.from_cell, e.from_cell)} → {owner}"
        due = f"{_short(e.due_at)}{_marked(e)}"
        rows.append((e.case_id, e.kind.label_zh, due, owner, e.reason_zh))
    header = ("编号 case", "动作 action", "到期 due", "承办 owner", "原因 reason")
    return f"{head}\n{_table(header, rows, align='lllll')}"
