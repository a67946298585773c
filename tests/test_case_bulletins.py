"""The case indicators reproduce published bulletins' rates from their counts (issue 22).

Each bulletin publishes counts and the rates derived from them, to two decimals, rounded half up.
Their arithmetic agrees with the sector standard's denominators: closure, on-time closure, rework
and extension over the cases due for closure (应结案数). Sources, as read on 2026-12-07:

- 郑州 数字城管 每周运行分析报告, 2019-04-08 to 04-14 (https://lzszcg.com/gsggs/2161.htm, a
  repost): city-wide tables of all cases and of 常规案件, and four districts' rows;
- 天门市 数字化城市管理 12月绩效情况通报, December 2016, 天门日报 2017-01-03
  (http://www.hbcic.net.cn/info/wcm/74587.htm);
- 湖州市综合行政执法局, 中心城市 2022年8月 monthly analysis, published 2022-09-23;
- 连云港 城建控股集团 2017年3月份12345政府热线与数字化城管平台考评结果通报
  (http://lygcjjt.com/artinfo?id=1520): the group and 城投集团's row.
"""

from __future__ import annotations

from decimal import Decimal

import attrs
import pendulum
import pytest

from gridgov import GridCell, GridLevel, open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, Case, CaseRole, CaseSource, CaseWorkflow, Location, Reporter
from gridgov.services.kpis import CaseFigures, case_kpis

Row = tuple[int, int, int, int, int]  # due, closed, closed on time, reworked, extended


def _counted(
    due: int, closed: int, on_time: int, reworked: int = 0, extended: int = 0
) -> CaseFigures:
    return CaseFigures(
        reported=due,
        closed=closed,
        closed_on_time=on_time,
        median_hours={},
        due_for_closure=due,
        reworked=reworked,
        extended=extended,
    )


def _percents(figures: CaseFigures, *rates: str) -> tuple[Decimal | None, ...]:
    return tuple(figures.percent(rate) for rate in rates)


ZHENGZHOU = [
    # 全市 all cases; 常规案件; then the districts 金水, 管城, 二七, 郑东新区
    ((52434, 43523, 40394, 276, 104), ("83.01", "77.04", "0.53", "0.20")),
    ((18086, 10225, 8765, 274, 101), ("56.54", "48.46", "1.51", "0.56")),
    ((1935, 1912, 1855, 18, 0), ("98.81", "95.87", None, "0.00")),
    ((953, 953, 936, 20, 0), ("100.00", "98.22", None, "0.00")),
    ((848, 806, 699, 9, 0), ("95.05", "82.43", None, "0.00")),
    ((736, 596, 372, 7, 0), ("80.98", "50.54", None, "0.00")),
]


@pytest.mark.parametrize(
    ("counts", "published"),
    ZHENGZHOU,
    ids=["all", "regular", "jinshui", "guancheng", "erqi", "zhengdong"],
)
def test_zhengzhou_weekly_report_2019_04_08(counts: Row, published: tuple[str | None, ...]) -> None:
    """结案率, 按期结案率, 返工率 and 延期率 over 应结案数, as 郑州's report prints them."""
    figures = _counted(*counts)
    actual = _percents(figures, "closure_rate", "on_time_rate", "rework_rate", "extension_rate")
    expected = tuple(None if p is None else Decimal(p) for p in published)
    # A district row publishes no rework rate: compare what it publishes.
    assert expected == tuple(
        a if e is not None else None for a, e in zip(actual, expected, strict=True)
    )


@pytest.mark.parametrize(
    ("counts", "published"),
    [
        ((15308, 15300, 15289), ("99.95", "99.88")),  # 湖州 2022-08: 99.9477 is not 99.94
        ((429, 413, 404), ("96.27", "94.17")),  # 连云港 城建控股集团 2017-03
        ((93, 92, 92), ("98.92", "98.92")),  # its 城投集团 row
    ],
    ids=["huzhou", "lianyungang-group", "lianyungang-chengtou"],
)
def test_other_bulletins_closure_and_on_time_rates(
    counts: tuple[int, int, int], published: tuple[str, str]
) -> None:
    """Rounded half up from the counts, never truncated: the top end stays 99.95."""
    figures = _counted(*counts)
    assert tuple(map(Decimal, published)) == _percents(figures, "closure_rate", "on_time_rate")


# -- 天门, December 2016, rebuilt from cases ------------------------------------------------------

WF = CaseWorkflow(WorkCalendar())
T0 = pendulum.datetime(2016, 11, 1, 9, tz="Asia/Shanghai")
AS_OF = T0.add(days=60)
GRID = GridCell("610102003006001", "网格", GridLevel.GRID, "610102003006")


def _case(reported: pendulum.DateTime, *steps: tuple[Action, CaseRole, int]) -> Case:
    case = WF.report(
        case_id="template",
        category="complaint",
        source=CaseSource.PATROL,
        location=Location(GRID.code),
        reporter=Reporter(),
        description="占道经营",
        owner=GRID,
        at=reported,
        actor="inspector-1",
    ).case
    for action, role, days in steps:
        case = WF.apply(
            case,
            action,
            actor=f"{role.value}-1",
            role=role,
            at=reported.add(days=days),
            note="已处理",
        ).case
    return case


_OPENED = ((Action.REGISTER, CaseRole.DISPATCHER, 0), (Action.DISPATCH, CaseRole.DISPATCHER, 0))


def _closed(handled_after_days: int) -> Case:
    return _case(
        T0,
        *_OPENED,
        (Action.START, CaseRole.HANDLER, 0),
        (Action.HANDLE, CaseRole.HANDLER, handled_after_days),
        (Action.VERIFY, CaseRole.VERIFIER, handled_after_days),
        (Action.CLOSE, CaseRole.DISPATCHER, handled_after_days),
    )


def test_tianmen_december_2016_rebuilt_from_cases() -> None:
    """972 of 996 due (911 closed, 737 on time; 61 overdue): 93.72% and 75.82%, as published."""
    templates = [
        (_closed(2), 737),  # handled within the 15 working days
        (_closed(40), 911 - 737),  # handled late
        (_case(T0, *_OPENED, (Action.START, CaseRole.HANDLER, 0)), 972 - 911),  # overdue
        (_case(AS_OF.subtract(days=1), *_OPENED), 996 - 972),  # not due yet
    ]
    store = open_store("memory://")
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell("610102003", "街道", GridLevel.STREET, "610102"))
        uow.cells.add(GridCell("610102003006", "社区", GridLevel.COMMUNITY, "610102003"))
        uow.cells.add(GRID)
        uow.cases.add_many(
            attrs.evolve(template, id=f"tm-{t}-{n}")
            for t, (template, count) in enumerate(templates)
            for n in range(count)
        )
        uow.commit()
    with store() as uow:
        total = case_kpis(uow, "610102", since=T0.subtract(days=1), until=AS_OF, as_of=AS_OF).total
    assert ((996, 972, 911, 737), (Decimal("93.72"), Decimal("75.82"))) == (
        (total.reported, total.closure_base, total.closed, total.closed_on_time),
        _percents(total, "closure_rate", "on_time_rate"),
    )
