"""Hypothesis strategies for every gridgov domain type.

Every strategy yields valid objects: they pass the constructors' validation, and the composite
ones respect the aggregates' invariants (a relocated household has a forwarding contact, a vacant
one has no members, a worker's assignments to one cell do not overlap, a tree's codes extend their
parents'). Strategies compose: pass a strategy (or a fixed value) where a parameter accepts one::

    from hypothesis import given
    from gridgov.testing import strategies as gst

    @given(gst.households(cell_code="610102001001001"))
    def test_something(household): ...

Needs the ``testing`` extra (hypothesis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs
import pendulum

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "gridgov.testing.strategies needs hypothesis: pip install 'gridgov[testing]'"
    ) from exc

from gridgov._levels import GridLevel
from gridgov._vocab import Term
from gridgov.access import AuditEntry, AuditKind
from gridgov.calendar import Period, WorkCalendar
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState
from gridgov.care.criteria import (
    AgeAtLeast,
    AgeBelow,
    AllOf,
    AnyOf,
    Criterion,
    HasHealthFlag,
    HasTag,
    HouseholdStatusIs,
    LivesAs,
    Not,
)
from gridgov.care.policy import ContactMethod
from gridgov.cases.catalogue import (
    DEFAULT_CATALOGUE,
    Category,
    ServiceCatalogue,
    Stage,
    TimeLimit,
    TimeUnit,
)
from gridgov.cases.escalation import (
    DEFAULT_ESCALATION,
    Anchor,
    EscalationKind,
    EscalationPolicy,
    EscalationStep,
)
from gridgov.cases.model import (
    Case,
    CaseSource,
    CaseState,
    Location,
    Reporter,
    Satisfaction,
    Urgency,
)
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.codes import (
    _PROVINCES,
    DEFAULT_SCHEME,
    CodeScheme,
    NationalId,
    PhoneNumber,
    Segment,
    Sex,
    id_check_character,
)
from gridgov.errors import TransitionError
from gridgov.grid import Assignment, Boundary, Duty, GridCell, GridTree, Worker, WorkerRole
from gridgov.households import (
    Address,
    EmergencyContact,
    ForwardingContact,
    HealthFlag,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
    Tag,
)
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange
from gridgov.scheduling.venues import Blackout, Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.settings import Settings

__all__ = [
    "activity_series",
    "addresses",
    "assignments",
    "audit_entries",
    "aware_datetimes",
    "boundaries",
    "care_tasks",
    "cases",
    "cell_codes",
    "code_schemes",
    "contact_attempts",
    "dates",
    "deployment_settings",
    "duties",
    "emergency_contacts",
    "forwarding_contacts",
    "grid_cells",
    "grid_trees",
    "health_flags",
    "households",
    "identifiers",
    "national_ids",
    "personal_names",
    "phone_numbers",
    "registrations",
    "residents",
    "shifts",
    "signups",
    "tags",
    "time_zones",
    "venues",
    "worker_roles",
    "workers",
]

T = TypeVar("T")
TermT = TypeVar("TermT", bound=Term)

# Real county-level codes (GB/T 2260), used as ID address codes and district codes.
_COUNTIES = (
    "610102",  # 西安市新城区 (Minggong community's district)
    "610103",  # 西安市碑林区
    "610112",  # 西安市未央区
    "110101",  # 北京市东城区
    "110105",  # 北京市朝阳区
    "310104",  # 上海市徐汇区
    "440305",  # 深圳市南山区
    "510107",  # 成都市武侯区
    "150102",  # 呼和浩特市新城区
    "420106",  # 武汉市武昌区
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗田宋郑谢韩唐冯"
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
_GIVEN = "林芳伟秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰建国华玉珍雨晨"
_PINYIN_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Tian", "Ouyang", "Zhao", "Huang")
_PINYIN_GIVEN = ("Lin", "Fang", "Wei", "Xiuying", "Min", "Jianguo", "Yuchen", "Lan", "Tao")
_LATIN_GIVEN = ("Maria", "John", "Anna", "Ahmed", "Olga", "Pierre", "Sofia", "Kenji")
_LATIN_FAMILY = ("Schmidt", "Smith", "Rossi", "Ivanova", "Dubois", "Tanaka", "O'Brien")
_ROADS = ("自强东路", "太华南路", "含元路", "大明宫路", "长乐西路", "西五路", "东新街")
_ROADS_LATIN = ("Ziqiang East Road", "Taihua South Road", "Hanyuan Road", "Daming Palace Road")
_ESTATES = ("铁一村", "明宫小区", "大华公寓", "含元殿社区", "纺织城家属院")
_RELATIONSHIPS = ("户主", "配偶", "子女", "儿子", "女儿", "父亲", "母亲", "孙子女", "邻居")
_RELATIONSHIPS_LATIN = ("head", "spouse", "son", "daughter", "neighbour", "niece", "")
_PLACE_SYLLABLES = "明宫含元太华自强长乐东新西五大华未央碑林曲江雁塔"
_LEVEL_SUFFIX = {
    GridLevel.DISTRICT: "区",
    GridLevel.STREET: "街道",
    GridLevel.COMMUNITY: "社区",
    GridLevel.GRID: "网格",
    GridLevel.BUILDING: "号楼",
}
_NAMED_ZONES = (
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Asia/Hong_Kong",
    "Europe/Berlin",
    "America/New_York",
)
_ALPHABETS = ("[0-9]", "[A-Z]", "[0-9A-Z]", "[a-z]", "[0-9a-f]")
_SEPARATORS = ("", "-", ".", "/", "_")
_IDENTIFIER = r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}"


def _given(
    value: T | st.SearchStrategy[T] | None, default: st.SearchStrategy[T]
) -> st.SearchStrategy[T]:
    """Turn a parameter that may be a fixed value, a strategy or ``None`` into a strategy."""
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(value)


def _text(max_size: int) -> st.SearchStrategy[str]:
    """Arbitrary non-empty text without outer whitespace, at most ``max_size`` characters."""
    return st.text(_PRINTABLE, min_size=1, max_size=max_size).map(str.strip).filter(bool)


# No control characters or lone surrogates: text holding them is refused (they cannot be stored).
_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))


def _maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


# Strategies are built once, outside the composite functions: hypothesis validates every new
# strategy object, which would dominate the cost if done on each draw.

# --- identifiers, names and text --------------------------------------------------------------


def identifiers(prefix: str | None = None) -> st.SearchStrategy[str]:
    """Record keys as the domain's ``id`` fields accept them.

    Args:
        prefix: A readable prefix such as ``"hh"``; ``None`` mixes readable keys
            (``r-17``, ``hh:3``) with arbitrary well-formed ones.

    Returns:
        A strategy of 1-64 character keys of letters, digits, ``-``, ``_``, ``.`` and ``:``,
        starting with a letter or digit.
    """
    numbered = st.builds(
        "{}{}{}".format,
        st.just(prefix) if prefix is not None else st.sampled_from(("r", "hh", "w", "R", "610102")),
        st.sampled_from(("-", ":", "_", ".")),
        st.integers(min_value=0, max_value=10**9),
    )
    if prefix is not None:
        return numbered
    return numbered | st.from_regex(_IDENTIFIER, fullmatch=True)


def personal_names() -> st.SearchStrategy[str]:
    """Personal names: Chinese (``田林``, ``欧阳玉珍``), pinyin (``Tian Lin``) and other Latin."""
    chinese = st.builds(
        "{}{}".format,
        st.sampled_from(tuple(_SURNAMES)) | st.sampled_from(_COMPOUND_SURNAMES),
        st.text(alphabet=_GIVEN, min_size=1, max_size=2),
    )
    pinyin = st.builds(
        "{} {}".format, st.sampled_from(_PINYIN_SURNAMES), st.sampled_from(_PINYIN_GIVEN)
    )
    latin = st.builds("{} {}".format, st.sampled_from(_LATIN_GIVEN), st.sampled_from(_LATIN_FAMILY))
    return chinese | pinyin | latin


def _relationships() -> st.SearchStrategy[str]:
    return st.sampled_from(_RELATIONSHIPS) | st.sampled_from(_RELATIONSHIPS_LATIN)


# --- codes ------------------------------------------------------------------------------------


def _address_codes() -> st.SearchStrategy[str]:
    random_county = st.builds(
        "{:02d}{:04d}".format,
        st.sampled_from(sorted(_PROVINCES)),
        st.integers(min_value=0, max_value=9999),
    )
    return st.sampled_from(_COUNTIES) | random_county


def _make_national_id(address: str, birth: dt.date, sex: Sex, serial: int) -> NationalId:
    sequence = serial * 2 + (sex is Sex.MALE)  # odd: male
    body = f"{address}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return NationalId(body + id_check_character(body))


def national_ids(
    address_codes: st.SearchStrategy[str] | None = None,
    birth_dates: st.SearchStrategy[dt.date] | None = None,
    sexes: st.SearchStrategy[Sex] | None = None,
) -> st.SearchStrategy[NationalId]:
    """Valid resident ID numbers (GB 11643-1999) with a correct MOD 11-2 check character.

    Args:
        address_codes: Six-digit address codes (each must start with a province code); real
            county codes and random ones under every province by default.
        birth_dates: Birth dates from 1880 to today (a later one is refused); 1900-2024 by
            default.
        sexes: The sex the sequence code's parity encodes; both by default.

    Returns:
        A strategy of :class:`~gridgov.codes.NationalId`.
    """
    return st.builds(
        _make_national_id,
        _given(address_codes, _address_codes()),
        _given(birth_dates, dates(dt.date(1900, 1, 1), dt.date(2024, 12, 31))),
        _given(sexes, st.sampled_from(Sex)),
        st.integers(min_value=0, max_value=499),
    )


def phone_numbers(*, mobile: bool | None = None) -> st.SearchStrategy[PhoneNumber]:
    """Mainland phone numbers: 11-digit mobiles (``13812345678``) and landlines (``029-87654321``).

    Args:
        mobile: ``True`` for mobiles only, ``False`` for landlines only, ``None`` for both.

    Returns:
        A strategy of normalised :class:`~gridgov.codes.PhoneNumber`.
    """
    mobiles = st.builds(
        "1{}{:09d}".format, st.integers(3, 9), st.integers(min_value=0, max_value=10**9 - 1)
    )
    landlines = st.builds(
        "{}-{}{}".format,
        st.sampled_from(("010", "021", "029", "0755", "0471", "0913")),
        st.integers(2, 9),
        st.integers(min_value=0, max_value=10**6 - 1).map("{:06d}".format)
        | st.integers(min_value=0, max_value=10**7 - 1).map("{:07d}".format),
    )
    if mobile is None:
        return (mobiles | landlines).map(PhoneNumber)
    return (mobiles if mobile else landlines).map(PhoneNumber)


# --- dates and instants -----------------------------------------------------------------------


def _to_pendulum_date(day: dt.date) -> pendulum.Date:
    return pendulum.Date(day.year, day.month, day.day)


def dates(
    min_value: dt.date = dt.date(1900, 1, 1), max_value: dt.date = dt.date(2099, 12, 31)
) -> st.SearchStrategy[pendulum.Date]:
    """Calendar days as :class:`pendulum.Date` (never a DateTime).

    Args:
        min_value: The earliest day (inclusive).
        max_value: The latest day (inclusive).

    Returns:
        A strategy of pendulum dates.
    """
    return st.dates(_to_pendulum_date(min_value), _to_pendulum_date(max_value)).map(
        _to_pendulum_date
    )


def time_zones() -> st.SearchStrategy[pendulum.Timezone | pendulum.FixedTimezone]:
    """Time zones: Asia/Shanghai, UTC, other named zones (some with DST) and fixed offsets."""
    named = st.sampled_from([pendulum.timezone(name) for name in _NAMED_ZONES])
    fixed = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
        lambda quarters: pendulum.FixedTimezone(quarters * 15 * 60)
    )
    return st.sampled_from([pendulum.timezone("Asia/Shanghai"), pendulum.UTC]) | named | fixed


def _in_zone(
    naive_utc: dt.datetime, zone: pendulum.Timezone | pendulum.FixedTimezone
) -> pendulum.DateTime:
    return pendulum.instance(naive_utc, tz=pendulum.UTC).in_timezone(zone)


def aware_datetimes(
    min_value: dt.datetime = dt.datetime(1990, 1, 1),
    max_value: dt.datetime = dt.datetime(2060, 12, 31),
    timezones: st.SearchStrategy[pendulum.Timezone | pendulum.FixedTimezone] | None = None,
) -> st.SearchStrategy[pendulum.DateTime]:
    """Tz-aware instants as :class:`pendulum.DateTime`, in several zones.

    The instant is drawn in UTC and then expressed in the zone, so every value exists (none
    falls in a daylight-saving gap) and ambiguous local times carry the right offset.

    Args:
        min_value: The earliest instant, a naive datetime read as UTC.
        max_value: The latest instant, a naive datetime read as UTC.
        timezones: The zones; :func:`time_zones` by default.

    Returns:
        A strategy of aware pendulum DateTimes.
    """
    return st.builds(_in_zone, st.datetimes(min_value, max_value), _given(timezones, time_zones()))


# --- vocabularies -----------------------------------------------------------------------------


def _codes() -> st.SearchStrategy[str]:
    return st.builds(
        "{}{}".format,
        st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", max_size=47),
    )


def _terms(cls: type[TermT]) -> st.SearchStrategy[TermT]:
    return st.sampled_from(cls.builtins()) | _codes().map(cls)


def tags() -> st.SearchStrategy[Tag]:
    """Key-population tags: the built-in ones and platform-defined codes."""
    return _terms(Tag)


def health_flags() -> st.SearchStrategy[HealthFlag]:
    """Health flags: the built-in ones and platform-defined codes."""
    return _terms(HealthFlag)


def duties() -> st.SearchStrategy[Duty]:
    """Duties of a comprehensive grid (多网合一): the built-in ones and platform-defined codes."""
    return _terms(Duty)


def worker_roles() -> st.SearchStrategy[WorkerRole]:
    """Worker roles: the built-in ones and platform-defined codes."""
    return _terms(WorkerRole)


# --- the household ledger ---------------------------------------------------------------------


def _address_lines() -> st.SearchStrategy[str]:
    chinese = st.builds(
        "{}{}号{}".format,
        st.sampled_from(_ROADS),
        st.integers(1, 999),
        st.sampled_from((*_ESTATES, "")),
    )
    estate = st.builds("{}{}号楼".format, st.sampled_from(_ESTATES), st.integers(1, 40))
    latin = st.builds("{} {}".format, st.integers(1, 999), st.sampled_from(_ROADS_LATIN))
    return chinese | estate | latin | _text(200)


def addresses() -> st.SearchStrategy[Address]:
    """Addresses: Chinese, Latin and arbitrary lines, with or without unit (单元) and room."""
    return st.builds(
        Address,
        line=_address_lines(),
        unit=_maybe(st.integers(1, 12).map(str) | st.sampled_from(("A", "B", "东"))),
        room=_maybe(st.integers(101, 3306).map(str) | _text(20)),
    )


def emergency_contacts() -> st.SearchStrategy[EmergencyContact]:
    """Emergency contacts with a name, a phone number and a relationship."""
    return st.builds(
        EmergencyContact,
        name=personal_names(),
        phone=phone_numbers(),
        relationship=_relationships(),
    )


def forwarding_contacts() -> st.SearchStrategy[ForwardingContact]:
    """Forwarding contacts of relocated households: a new address, maybe a phone and a note."""
    return st.builds(
        ForwardingContact,
        address=_address_lines(),
        phone=_maybe(phone_numbers()),
        note=st.sampled_from(("", "拆迁安置房", "住子女家", "moved in with her son")) | _text(500),
    )


def residents(
    id: str | st.SearchStrategy[str] | None = None,
    *,
    with_national_id: bool | None = None,
) -> st.SearchStrategy[Resident]:
    """Residents, with or without a national ID; birth date and sex agree with the ID.

    With an ID, the birth date and sex are the ones it encodes; without one they may be unknown.

    Args:
        id: The resident's key, or a strategy of keys; :func:`identifiers` by default.
        with_national_id: ``True`` or ``False`` to force having a national ID or not;
            ``None`` for both.

    Returns:
        A strategy of :class:`~gridgov.households.Resident`.
    """
    common: dict[str, st.SearchStrategy[object]] = {
        "id": _given(id, identifiers()),
        "name": personal_names(),
        "phone": _maybe(phone_numbers()),
        "tags": st.frozensets(tags(), max_size=4),
        "living_arrangement": _maybe(st.sampled_from(LivingArrangement)),
        "health_flags": st.frozensets(health_flags(), max_size=3),
        "emergency_contacts": st.lists(emergency_contacts(), max_size=2).map(tuple),
        "relationship": _relationships(),
    }
    # Resident derives the birth date and sex from the ID when they are not given.
    with_id = st.builds(Resident, national_id=national_ids(), **common)
    without_id = st.builds(
        Resident,
        birth_date=_maybe(dates(dt.date(1900, 1, 1), dt.date(2024, 12, 31))),
        sex=_maybe(st.sampled_from(Sex)),
        **common,
    )
    if with_national_id is None:
        return with_id | without_id
    return with_id if with_national_id else without_id


def households(
    cell_code: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    *,
    status: HouseholdStatus | st.SearchStrategy[HouseholdStatus] | None = None,
    min_members: int = 0,
    max_members: int = 4,
) -> st.SearchStrategy[Household]:
    """Households of every status, respecting the aggregate's invariants.

    A relocated household has a forwarding contact, a vacant one has no members, and member
    ids are unique within the household.

    Args:
        cell_code: The cell, or a strategy of cells; grid and building codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        id: The household's key, or a strategy of keys.
        status: The status, or a strategy of statuses; every status by default (every status
            but vacant when ``min_members`` is positive).
        min_members: The fewest members of a household that is not vacant.
        max_members: The most members.

    Returns:
        A strategy of :class:`~gridgov.households.Household`.
    """
    statuses = [s for s in HouseholdStatus if min_members == 0 or s is not HouseholdStatus.VACANT]
    cells = cell_codes(level=GridLevel.GRID) | cell_codes(level=GridLevel.BUILDING)
    return _households(
        _HouseholdParts(
            statuses=_given(status, st.sampled_from(statuses)),
            members=st.lists(
                residents(), min_size=min_members, max_size=max_members, unique_by=_resident_id
            ),
            forwarding=forwarding_contacts(),
            ids=_given(id, identifiers()),
            cells=_given(cell_code, cells),
            addresses=addresses(),
        )
    )


def _resident_id(resident: Resident) -> str:
    return resident.id


@attrs.frozen
class _HouseholdParts:
    statuses: st.SearchStrategy[HouseholdStatus]
    members: st.SearchStrategy[list[Resident]]
    forwarding: st.SearchStrategy[ForwardingContact]
    ids: st.SearchStrategy[str]
    cells: st.SearchStrategy[str]
    addresses: st.SearchStrategy[Address]


@st.composite
def _households(draw: st.DrawFn, parts: _HouseholdParts) -> Household:
    status = draw(parts.statuses)
    members = () if status is HouseholdStatus.VACANT else tuple(draw(parts.members))
    forwarding: ForwardingContact | None = None
    if status is HouseholdStatus.RELOCATED or draw(st.booleans()):
        forwarding = draw(parts.forwarding)
    return Household(
        id=draw(parts.ids),
        cell_code=draw(parts.cells),
        address=draw(parts.addresses),
        status=status,
        members=members,
        forwarding=forwarding,
        version=draw(st.integers(min_value=0, max_value=10**6)),
    )


# --- the area hierarchy -----------------------------------------------------------------------

_CHINA_RING = st.tuples(
    st.floats(min_value=73.0, max_value=135.0),
    st.floats(min_value=18.0, max_value=53.0),
    st.lists(
        st.tuples(
            st.floats(min_value=-0.05, max_value=0.05), st.floats(min_value=-0.05, max_value=0.05)
        ),
        min_size=3,
        max_size=6,
    ),
).map(lambda t: [(t[0] + dx, t[1] + dy) for dx, dy in t[2]])
_ANY_RING = st.lists(
    st.tuples(
        st.floats(min_value=-180.0, max_value=180.0), st.floats(min_value=-90.0, max_value=90.0)
    ),
    min_size=3,
    max_size=6,
)


def _close(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    return (*points, points[0])


def boundaries() -> st.SearchStrategy[Boundary]:
    """Boundaries: one or two polygons of closed WGS 84 rings, some with holes.

    Most rings are small shapes somewhere in China; others have arbitrary positions.
    """
    rings = (_CHINA_RING | _ANY_RING).map(_close)
    polygons = st.lists(rings, min_size=1, max_size=2).map(tuple)
    return st.builds(Boundary, st.lists(polygons, min_size=1, max_size=2).map(tuple))


def _zero_padded(width: int) -> Callable[[int], str]:
    return lambda n: str(n).zfill(width)


def _segment_values(seg: Segment) -> st.SearchStrategy[str]:
    """Values of one segment: realistic division codes for the default scheme's digits."""
    if seg.alphabet == "[0-9]":
        if seg.level is GridLevel.DISTRICT and seg.width == 6:
            return _address_codes()
        top = 10**seg.width - 1
        low = 1 if top > 1 else 0
        return st.integers(min_value=low, max_value=top).map(_zero_padded(seg.width))
    return st.from_regex(f"(?:{seg.alphabet}){{{seg.width}}}", fullmatch=True)


def cell_codes(
    scheme: CodeScheme = DEFAULT_SCHEME, level: GridLevel | None = None
) -> st.SearchStrategy[str]:
    """Well-formed cell codes under ``scheme``.

    Args:
        scheme: The code scheme.
        level: The level of the codes; any of the scheme's levels by default.

    Returns:
        A strategy of codes that ``scheme.check(code, level)`` accepts.

    Raises:
        ValidationError: If ``scheme`` has no segment for ``level``.
    """
    depths = range(len(scheme.segments))
    if level is not None:
        scheme.length(level)  # raises ValidationError if the scheme lacks the level
        depth = scheme.levels.index(level)
        depths = range(depth, depth + 1)
    options = [
        st.tuples(*(_segment_values(seg) for seg in scheme.segments[: depth + 1])).map(
            scheme.separator.join
        )
        for depth in depths
    ]
    return st.one_of(options)


def _cell_names(level: GridLevel) -> st.SearchStrategy[str]:
    chinese = st.builds(
        "{}{}".format,
        st.text(alphabet=_PLACE_SYLLABLES, min_size=2, max_size=3)
        | st.integers(1, 30).map("第{}".format),
        st.just(_LEVEL_SUFFIX[level]),
    )
    latin = st.builds(
        "{} {}".format,
        st.sampled_from(("Minggong", "Hanyuan", "Taihua", "Ziqiang", "Daming")),
        st.just(level.value.capitalize()),
    )
    return chinese | latin


@attrs.frozen
class _CellParts:
    """Strategies for the fields of a cell other than its code and place in the tree."""

    names: dict[GridLevel, st.SearchStrategy[str]]
    boundaries: st.SearchStrategy[Boundary]
    duties: st.SearchStrategy[frozenset[Duty]]

    @classmethod
    def make(cls) -> _CellParts:
        return cls(
            names={level: _cell_names(level) for level in GridLevel},
            boundaries=boundaries(),
            duties=st.frozensets(duties(), max_size=3),
        )

    def draw_cell(
        self, draw: st.DrawFn, code: str, level: GridLevel, parent_code: str | None
    ) -> GridCell:
        # A third of the cells are mapped: boundaries are the costliest part to draw.
        mapped = draw(st.integers(min_value=0, max_value=2)) == 0
        return GridCell(
            code=code,
            name=draw(self.names[level]),
            level=level,
            parent_code=parent_code,
            boundary=draw(self.boundaries) if mapped else None,
            duties=draw(self.duties),
            version=draw(st.integers(min_value=0, max_value=1000)),
        )


def grid_cells(
    scheme: CodeScheme = DEFAULT_SCHEME, level: GridLevel | None = None
) -> st.SearchStrategy[GridCell]:
    """Single grid cells whose code fits ``scheme`` and extends their parent's code.

    Args:
        scheme: The code scheme.
        level: The cells' level; any of the scheme's levels by default.

    Returns:
        A strategy of :class:`~gridgov.grid.GridCell` that pass ``check_code(scheme)``.

    Raises:
        ValidationError: If ``scheme`` has no segment for ``level``.
    """
    return _grid_cells(cell_codes(scheme, level), scheme, _CellParts.make())


@st.composite
def _grid_cells(
    draw: st.DrawFn, codes: st.SearchStrategy[str], scheme: CodeScheme, parts: _CellParts
) -> GridCell:
    code = draw(codes)
    return parts.draw_cell(draw, code, scheme.level_of(code), scheme.parent_code(code))


def grid_trees(
    scheme: CodeScheme = DEFAULT_SCHEME, *, max_roots: int = 2, max_children: int = 2
) -> st.SearchStrategy[GridTree]:
    """Valid area hierarchies under ``scheme``, from its top level down to its last.

    With the default scheme: districts, streets, communities, grids and buildings, each code
    extending its parent's. The cells reach :class:`~gridgov.grid.GridTree` in a shuffled
    order, so children may come before their parents.

    Args:
        scheme: The code scheme.
        max_roots: The most top-level cells (at least one is drawn).
        max_children: The most children of a cell.

    Returns:
        A strategy of :class:`~gridgov.grid.GridTree`.
    """
    values = [_segment_values(seg) for seg in scheme.segments]
    roots = st.lists(values[0], min_size=1, max_size=max_roots, unique=True)
    children = [st.lists(v, max_size=max_children, unique=True) for v in values]
    return _grid_trees(scheme, roots, children, _CellParts.make())


@st.composite
def _grid_trees(
    draw: st.DrawFn,
    scheme: CodeScheme,
    roots: st.SearchStrategy[list[str]],
    children: list[st.SearchStrategy[list[str]]],
    parts: _CellParts,
) -> GridTree:
    cells: list[GridCell] = []
    level_count = len(scheme.segments)

    def grow(parent: GridCell | None, depth: int) -> None:
        level = scheme.segments[depth].level
        for value in draw(roots if parent is None else children[depth]):
            code = value if parent is None else f"{parent.code}{scheme.separator}{value}"
            cell = parts.draw_cell(draw, code, level, None if parent is None else parent.code)
            cells.append(cell)
            if depth + 1 < level_count:
                grow(cell, depth + 1)

    grow(None, 0)
    return GridTree(draw(st.permutations(cells)), scheme)


def _cell_code_strategy(
    codes: Sequence[str] | st.SearchStrategy[str] | None,
) -> st.SearchStrategy[str]:
    if codes is None:  # grid codes under the default scheme (DB11/T 2157-2023, 15 digits)
        return cell_codes(DEFAULT_SCHEME, GridLevel.GRID)
    if isinstance(codes, st.SearchStrategy):
        return codes
    return st.sampled_from(tuple(codes))


def _make_assignment(
    cell_code: str, start: pendulum.Date, days: int | None, duties: frozenset[Duty]
) -> Assignment:
    end = None if days is None else start.add(days=days)
    return Assignment(cell_code=cell_code, start=start, end=end, duties=duties)


def assignments(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Assignment]:
    """Assignments of a worker to a cell, open-ended or ending on or after their start.

    Args:
        cell_codes: The cells to draw from (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.

    Returns:
        A strategy of :class:`~gridgov.grid.Assignment`.
    """
    return st.builds(
        _make_assignment,
        _cell_code_strategy(cell_codes),
        dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)),
        _maybe(st.integers(min_value=0, max_value=2000)),
        st.frozensets(duties(), max_size=3),
    )


@attrs.frozen
class _WorkerParts:
    cells: st.SearchStrategy[list[str]]
    days: st.SearchStrategy[list[pendulum.Date]]
    duties: st.SearchStrategy[frozenset[Duty]]
    ids: st.SearchStrategy[str]
    names: st.SearchStrategy[str]
    roles: st.SearchStrategy[frozenset[WorkerRole]]
    phones: st.SearchStrategy[PhoneNumber | None]


def workers(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Worker]:
    """Grid workers with roles and assignments that never overlap within one cell.

    A worker may hold several successive assignments to the same cell, the last possibly
    open-ended, and assignments to several cells at once.

    Args:
        cell_codes: The cells to assign (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        id: The worker's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.grid.Worker`.
    """
    return _workers(
        _WorkerParts(
            cells=st.lists(_cell_code_strategy(cell_codes), max_size=3, unique=True),
            days=st.lists(
                dates(dt.date(2015, 1, 1), dt.date(2035, 12, 31)),
                min_size=2,
                max_size=6,
                unique=True,
            ),
            duties=st.frozensets(duties(), max_size=2),
            ids=_given(id, identifiers()),
            names=personal_names(),
            roles=st.frozensets(worker_roles(), max_size=3),
            phones=_maybe(phone_numbers()),
        )
    )


@st.composite
def _workers(draw: st.DrawFn, parts: _WorkerParts) -> Worker:
    result: list[Assignment] = []
    for code in draw(parts.cells):
        # 2k distinct sorted days give k disjoint periods; the last one may stay open.
        days = sorted(draw(parts.days))
        periods = list(zip(days[::2], days[1::2], strict=False))
        for i, (start, end) in enumerate(periods):
            open_ended = i == len(periods) - 1 and draw(st.booleans())
            duties = draw(parts.duties)
            result.append(Assignment(code, start, None if open_ended else end, duties))
    return Worker(
        id=draw(parts.ids),
        name=draw(parts.names),
        roles=draw(parts.roles),
        assignments=tuple(draw(st.permutations(result))),
        phone=draw(parts.phones),
        version=draw(st.integers(min_value=0, max_value=1000)),
    )


def _make_scheme(name: str, top: int, shapes: list[tuple[int, str]], separator: str) -> CodeScheme:
    levels = list(GridLevel)[top:]
    segments = [
        Segment(level, width, alphabet)
        for level, (width, alphabet) in zip(levels, shapes, strict=False)
    ]
    return CodeScheme(name=name, segments=segments, separator=separator)


def code_schemes() -> st.SearchStrategy[CodeScheme]:
    """Code schemes: consecutive levels from any top level, varied widths, alphabets, separators.

    Codes stay within 64 characters, so every scheme drawn can code real cells; the default
    scheme is among the values.
    """
    shapes = st.lists(
        st.tuples(st.integers(min_value=1, max_value=6), st.sampled_from(_ALPHABETS)),
        min_size=1,
        max_size=len(GridLevel),
    )
    drawn = st.builds(
        _make_scheme,
        st.sampled_from(("beijing", "xian", "shenzhen")) | _codes(),
        st.integers(min_value=0, max_value=len(GridLevel) - 1),
        shapes,
        st.sampled_from(_SEPARATORS),
    )
    return st.just(DEFAULT_SCHEME) | drawn


# --- elder care -------------------------------------------------------------------------------


def contact_attempts(resident_id: str | None = None) -> st.SearchStrategy[ContactAttempt]:
    """Contact attempts with every method and outcome, at aware instants.

    Args:
        resident_id: The resident contacted; drawn when ``None``.

    Returns:
        A strategy of :class:`~gridgov.care.contacts.ContactAttempt`.
    """
    return st.builds(
        ContactAttempt,
        id=identifiers("c"),
        resident_id=_given(resident_id, identifiers("r")),
        household_id=identifiers("h"),
        cell_code=cell_codes(),
        method=st.sampled_from(list(ContactMethod)),
        outcome=st.sampled_from(list(Outcome)),
        by=identifiers("w"),
        at=aware_datetimes(),
        notes=_text(50),
        task_id=_maybe(identifiers("t")),
    )


@st.composite
def _care_tasks(draw: st.DrawFn, resident_id: str | None) -> CareTask:
    start = draw(aware_datetimes())
    due = start + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=90)))
    end = due + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=90)))
    state = draw(st.sampled_from(list(TaskState)))
    return CareTask(
        id=draw(identifiers("t")),
        resident_id=resident_id if resident_id is not None else draw(identifiers("r")),
        household_id=draw(identifiers("h")),
        cell_code=draw(cell_codes()),
        kind=draw(st.sampled_from(list(TaskKind))),
        method=draw(st.sampled_from(list(ContactMethod))),
        start=start,
        due=due,
        end=end,
        reason_en=draw(_text(60).filter(str.strip)),
        reason_zh=draw(_text(60).filter(str.strip)),
        rule=draw(_codes()),
        tier=draw(_maybe(identifiers())),
        state=state,
        closed_by="" if state is TaskState.OPEN else draw(_text(40)),
        # Marked overdue by a sweep some time after it was due, or not (yet).
        overdue_at=draw(
            st.none()
            | st.timedeltas(dt.timedelta(microseconds=1), dt.timedelta(days=90)).map(
                lambda late: due + late
            )
        ),
    )


def care_tasks(resident_id: str | None = None) -> st.SearchStrategy[CareTask]:
    """Care tasks of every kind and state with ordered windows (start <= due <= end).

    Args:
        resident_id: The resident concerned; drawn when ``None``.

    Returns:
        A strategy of :class:`~gridgov.care.contacts.CareTask`.
    """
    return _care_tasks(resident_id)


# --- cases ------------------------------------------------------------------------------------

_CASE_DESCRIPTIONS = (
    "楼道堆放杂物，堵塞消防通道",
    "小区路灯不亮已一周",
    "夜间施工噪音扰民",
    "下水道堵塞，污水外溢",
    "独居老人家中无人应答，请求上门查看",
    "电动车在楼道内充电",
    "Broken street light at the estate gate",
)
_CASE_NOTES = (
    "已联系物业处理",
    "现场核实情况属实",
    "等待居民提供照片",
    "需协调供水公司",
    "handled on site",
)
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_OWNER_LEVELS = (GridLevel.GRID, GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)
# A case's times stay in a range whose deadlines the working calendar can count quickly.
_CASE_INSTANTS = (dt.datetime(2000, 1, 1), dt.datetime(2050, 12, 31))


def _free_text(max_size: int) -> st.SearchStrategy[str]:
    """Non-empty stripped text mixing Chinese, other printable characters and spaces."""
    return (
        st.text(
            alphabet=_CJK | _PRINTABLE | st.sampled_from("，。、 "), min_size=1, max_size=max_size
        )
        .map(str.strip)
        .filter(bool)
    )


def _reporters() -> st.SearchStrategy[Reporter]:
    return st.builds(
        Reporter,
        name=st.just("") | personal_names(),
        phone=_maybe(phone_numbers()),
        resident_id=_maybe(identifiers("r")),
        worker_id=_maybe(identifiers("w")),
    )


def _locations(cells: st.SearchStrategy[str]) -> st.SearchStrategy[Location]:
    points = st.tuples(
        st.floats(min_value=73.0, max_value=135.0), st.floats(min_value=18.0, max_value=54.0)
    )
    return st.builds(
        Location,
        cell_code=cells,
        address=st.just("") | _address_lines(),
        point=_maybe(points),
    )


def _time_limits() -> st.SearchStrategy[TimeLimit]:
    return st.builds(
        TimeLimit, st.integers(min_value=1, max_value=30), st.sampled_from(list(TimeUnit))
    )


class _NoHigherUnit:
    """A hierarchy with nothing above any cell and nobody on duty: escalations only remind."""

    def parent_unit(self, cell_code: str) -> GridCell | None:
        return None

    def on_duty(self, cell_code: str, day: pendulum.Date, *, besides: str | None) -> str | None:
        return None


_CASE_WORKFLOW = CaseWorkflow(WorkCalendar())
_STEP_KINDS = [k for k in EscalationKind if k is not EscalationKind.DEADLINE_MISSED]
# The way forward from each state, taken most of the time so that cases also get closed.
_FORWARD = {
    CaseState.REPORTED: (Action.REGISTER, CaseRole.DISPATCHER),
    CaseState.REGISTERED: (Action.DISPATCH, CaseRole.DISPATCHER),
    CaseState.RETURNED: (Action.DISPATCH, CaseRole.DISPATCHER),
    CaseState.REOPENED: (Action.DISPATCH, CaseRole.DISPATCHER),
    CaseState.DISPATCHED: (Action.START, CaseRole.HANDLER),
    CaseState.IN_PROGRESS: (Action.HANDLE, CaseRole.HANDLER),
    CaseState.WAITING_ON_RESIDENT: (Action.RESUME, CaseRole.HANDLER),
    CaseState.EXTENSION_REQUESTED: (Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR),
    CaseState.PARKED: (Action.UNPARK, CaseRole.SUPERVISOR),
    CaseState.HANDLED: (Action.VERIFY, CaseRole.VERIFIER),
    CaseState.VERIFIED: (Action.CLOSE, CaseRole.DISPATCHER),
    CaseState.CLOSED: (Action.EVALUATE, CaseRole.DISPATCHER),
}


@attrs.frozen
class _CaseParts:
    """Strategies for the parts of a case, built once per :func:`cases` call."""

    ids: st.SearchStrategy[str]
    owners: st.SearchStrategy[GridCell]
    locations: st.SearchStrategy[Location]
    max_steps: int
    reported_at: st.SearchStrategy[pendulum.DateTime]
    categories: st.SearchStrategy[str]
    sources: st.SearchStrategy[CaseSource]
    reporters: st.SearchStrategy[Reporter]
    descriptions: st.SearchStrategy[str]
    actors: st.SearchStrategy[str]
    urgencies: st.SearchStrategy[Urgency | None]
    external_ids: st.SearchStrategy[str | None]
    steps: st.SearchStrategy[dt.timedelta]
    notes: st.SearchStrategy[str]
    workers: st.SearchStrategy[str | None]
    extensions: st.SearchStrategy[TimeLimit]
    verdicts: st.SearchStrategy[Satisfaction]
    small: st.SearchStrategy[int]

    @classmethod
    def make(
        cls,
        ids: st.SearchStrategy[str],
        owners: st.SearchStrategy[GridCell],
        cells: st.SearchStrategy[str],
        max_steps: int,
    ) -> _CaseParts:
        return cls(
            ids=ids,
            owners=owners,
            locations=_locations(cells),
            max_steps=max_steps,
            reported_at=aware_datetimes(*_CASE_INSTANTS),
            categories=st.sampled_from([c.code for c in DEFAULT_CATALOGUE.categories]),
            sources=st.sampled_from(list(CaseSource)),
            reporters=_reporters(),
            descriptions=st.sampled_from(_CASE_DESCRIPTIONS) | _free_text(200),
            actors=identifiers("u"),
            urgencies=_maybe(st.sampled_from(list(Urgency))),
            external_ids=_maybe(identifiers("12345") | _free_text(40)),
            steps=st.timedeltas(dt.timedelta(0), dt.timedelta(days=20)),
            notes=st.sampled_from(_CASE_NOTES),
            workers=_maybe(identifiers("w")),
            extensions=_time_limits(),
            verdicts=st.sampled_from(list(Satisfaction)),
            small=st.integers(min_value=0, max_value=4),
        )


def cases(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
    owners: Sequence[GridCell] | st.SearchStrategy[GridCell] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    *,
    max_steps: int = 10,
) -> st.SearchStrategy[Case]:
    """Cases as the workflow makes them: reported, then taken through a few transitions.

    Each case is reported with :class:`~gridgov.cases.workflow.CaseWorkflow` on a
    :class:`~gridgov.calendar.WorkCalendar` without holidays, then goes through up to
    ``max_steps`` actions (mostly the way forward, else any action allowed in its state, at later
    instants) and escalation sweeps (which remind and mark missed deadlines, never raise the
    level). So its deadlines,
    history, ``fired`` firings and ``next_check`` agree, and ``next_check`` is ``None`` once it
    is closed or rejected; some open cases also have it cleared, and some have their last deadline
    and next check marked provisional. Descriptions and addresses are
    mostly Chinese; reporters have names, phones and ids, shown masked.

    Args:
        cell_codes: The cells the cases lie in (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        owners: The cells (grid level or above) that receive the cases and may be dispatched
            to (a sequence or a strategy); drawn under the default scheme by default.
        id: The case's key, or a strategy of keys.
        max_steps: The most actions and sweeps after the report.

    Returns:
        A strategy of :class:`~gridgov.cases.model.Case`.
    """
    if owners is None:
        owner_strategy = st.sampled_from(_OWNER_LEVELS).flatmap(
            lambda level: grid_cells(DEFAULT_SCHEME, level)
        )
    elif isinstance(owners, st.SearchStrategy):
        owner_strategy = owners
    else:
        owner_strategy = st.sampled_from(tuple(owners))
    return _cases(
        _CaseParts.make(
            _given(id, identifiers("case")),
            owner_strategy,
            _cell_code_strategy(cell_codes),
            max_steps,
        )
    )


@st.composite
def _cases(draw: st.DrawFn, parts: _CaseParts) -> Case:
    wf = _CASE_WORKFLOW
    at = draw(parts.reported_at)
    case = wf.report(
        case_id=draw(parts.ids),
        category=draw(parts.categories),
        source=draw(parts.sources),
        location=draw(parts.locations),
        reporter=draw(parts.reporters),
        description=draw(parts.descriptions),
        owner=draw(parts.owners),
        at=at,
        actor=draw(parts.actors),
        urgency=draw(parts.urgencies),
        external_id=draw(parts.external_ids),
    ).case
    for _ in range(draw(st.integers(min_value=0, max_value=parts.max_steps))):
        at = at + draw(parts.steps)
        if draw(parts.small) == 0:
            case = wf.escalate(case, at, _NoHigherUnit())[0]
            continue
        forward = _FORWARD.get(case.state)
        if forward is not None and draw(parts.small) > 0:
            action, role = forward
        else:
            options = [(a, r) for r in CaseRole for a in wf.allowed(case, r)]
            if not options:
                break
            action, role = draw(st.sampled_from(options))
        try:
            case = wf.apply(
                case,
                action,
                actor=draw(parts.actors),
                role=role,
                at=at,
                note=draw(parts.notes),
                to=draw(parts.owners) if draw(parts.small) == 0 else None,
                worker=draw(parts.workers),
                extension=draw(parts.extensions),
                satisfaction=draw(parts.verdicts),
            ).case
        except TransitionError:  # parking without an approved extension, and the like
            continue
    if case.next_check is not None and draw(parts.small) == 0:
        case = attrs.evolve(case, next_check=None)
    if case.deadlines and draw(parts.small) == 0:
        # As counted on a calendar whose last announced year is before the due instants'.
        last = case.deadlines[-1]
        case = attrs.evolve(
            case,
            deadlines=(
                *case.deadlines[:-1],
                attrs.evolve(last, provisional_years=(last.due.year,)),
            ),
            next_check_provisional_years=() if case.next_check is None else (case.next_check.year,),
        )
    return case


def _categories() -> st.SearchStrategy[Category]:
    return st.builds(
        Category,
        code=_codes(),
        label_en=_free_text(40),
        label_zh=st.text(alphabet=_CJK, min_size=1, max_size=10),
        limits=st.fixed_dictionaries({stage: _time_limits() for stage in Stage}),
        source=st.just("") | _free_text(60),
        emergency=st.booleans(),
    )


@st.composite
def _escalation_steps(draw: st.DrawFn, name: str) -> EscalationStep:
    anchor = draw(st.sampled_from(list(Anchor)))
    offset = draw(_maybe(_time_limits()))
    share = None
    before = False
    if anchor is Anchor.DEADLINE:
        if offset is None:
            share = draw(_maybe(st.floats(min_value=0.05, max_value=1.0)))
        else:
            before = draw(st.booleans())
    repeat = draw(_maybe(_time_limits()))
    return EscalationStep(
        name=name,
        action=draw(st.sampled_from(_STEP_KINDS)),
        reason_en=draw(_free_text(60)),
        reason_zh=draw(st.text(alphabet=_CJK, min_size=1, max_size=20)),
        anchor=anchor,
        offset=offset,
        before=before,
        share=share,
        stages=draw(st.frozensets(st.sampled_from(list(Stage)), min_size=1)),
        levels=draw(st.frozensets(st.sampled_from(_OWNER_LEVELS), min_size=1)),
        states=draw(st.frozensets(st.sampled_from(list(CaseState)), min_size=1)),
        repeat_every=repeat,
        max_times=1 if repeat is None else draw(st.integers(min_value=1, max_value=5)),
    )


@st.composite
def _escalation_policies(draw: st.DrawFn) -> EscalationPolicy:
    names = draw(st.lists(_codes(), max_size=4, unique=True))
    return EscalationPolicy(
        tuple(draw(_escalation_steps(name)) for name in names), mark_missed=draw(st.booleans())
    )


def deployment_settings() -> st.SearchStrategy[Settings]:
    """Case settings: the defaults, or drawn catalogues and escalation policies.

    Drawn catalogues hold one to four categories with a limit for every stage; drawn policies
    hold up to four valid steps (shares and offsets from deadlines or level entries, before or
    after, repeating or not).

    Returns:
        A strategy of :class:`~gridgov.settings.Settings` at version 0.
    """
    catalogues = st.builds(
        ServiceCatalogue, st.lists(_categories(), min_size=1, max_size=4, unique_by=_code_of)
    )
    drawn = st.builds(
        Settings,
        catalogue=st.just(DEFAULT_CATALOGUE) | catalogues,
        escalation=st.just(DEFAULT_ESCALATION) | _escalation_policies(),
    )
    return st.just(Settings()) | drawn


def _code_of(category: Category) -> str:
    return category.code


# --- scheduling -------------------------------------------------------------------------------

_VENUE_NAMES = (
    "明宫HUI客厅",
    "社区党群服务中心",
    "老年活动室",
    "四点半课堂",
    "社区文化广场",
    "Minggong community hall",
)
_SPACE_IDS = ("s1", "s2", "hall", "room-2", "yard", "reading.room")
_SPACE_NAMES = ("绘本馆", "多功能厅", "舞蹈室", "书画室", "会议室", "活动广场", "Reading room")
_FEATURES = ("projector", "tables", "piano", "mirrors", "kitchen", "wheelchair_access", "sound")
_BLACKOUT_REASONS = ("", "消防检查", "设备维修", "选举投票点", "deep cleaning")
_SERIES_TITLES = (
    "自闭症儿童绘画课",
    "老年智能手机课堂",
    "太极拳晨练",
    "四点半课堂作业辅导",
    "广场舞",
    "健康讲座",
    "Parent-child reading",
)
_SHIFT_TITLES = ("社区卫生清扫", "活动签到引导", "独居老人探访", "防疫值守", "Library desk")
_SKILLS = ("first_aid", "sign_language", "driving", "cooking", "english", "computer")
# Zones for wall clocks, DST ones among them; activities start between 07:00 and 20:45, far from
# the night-time daylight-saving transitions, so every wall time drawn exists exactly once.
_WALL_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Europe/Berlin", "America/New_York", "UTC")
_RULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_SCHEDULING_INSTANTS = (dt.datetime(2020, 1, 1), dt.datetime(2035, 12, 31))
_NO_HOLIDAYS = WorkCalendar()  # expands series that skip holidays without skipping any


def _quarter_hour(quarters: int) -> dt.time:
    return dt.time(quarters // 4, quarters % 4 * 15)


@st.composite
def _day_hours(draw: st.DrawFn) -> tuple[Period, ...]:
    """One or two opening periods of a day, on quarter hours."""
    opens = draw(st.integers(6 * 4, 11 * 4))
    closes = draw(st.integers(opens + 1, 14 * 4))
    periods = [Period(_quarter_hour(opens), _quarter_hour(closes))]
    if draw(st.booleans()):
        reopens = draw(st.integers(closes, 20 * 4))
        periods.append(
            Period(_quarter_hour(reopens), _quarter_hour(draw(st.integers(reopens + 1, 95))))
        )
    return tuple(periods)


@st.composite
def _opening_calendars(draw: st.DrawFn) -> WorkCalendar:
    """Opening hours as a calendar with covered years, holidays and make-up days."""
    first = draw(st.integers(2024, 2030))
    last = first + draw(st.integers(0, 3))
    span = dates(dt.date(first, 1, 1), dt.date(last, 12, 31))
    days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    holidays = draw(st.frozensets(span, max_size=5))
    workdays = draw(st.frozensets(span, max_size=3)) - holidays
    return WorkCalendar(
        holidays=holidays,
        workdays=workdays,
        years=(first, last),
        hours={day: draw(_day_hours()) for day in days},
        makeup_weekday=draw(st.sampled_from(days)),
        tz=draw(st.sampled_from(_WALL_ZONES)),
    )


def _space_id(space: Space) -> str:
    return space.id


@attrs.frozen
class _VenueParts:
    ids: st.SearchStrategy[str]
    names: st.SearchStrategy[str]
    cells: st.SearchStrategy[str]
    openings: st.SearchStrategy[WorkCalendar]
    spaces: st.SearchStrategy[list[Space]]
    starts: st.SearchStrategy[pendulum.DateTime]
    lengths: st.SearchStrategy[dt.timedelta]
    zones: st.SearchStrategy[pendulum.Timezone | pendulum.FixedTimezone]
    reasons: st.SearchStrategy[str]


def venues(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Venue]:
    """Venues with opening hours, one to four spaces and some blackouts.

    The opening hours are a :class:`~gridgov.calendar.WorkCalendar` with covered years (so the
    venue can be serialized), holidays and make-up days, one or two periods on the days it
    opens; blackouts close the whole venue or one of its spaces, their ends possibly in another
    zone than their starts.

    Args:
        cell_codes: The cells the venues lie in (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        id: The venue's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.venues.Venue` at version 0.
    """
    space = st.builds(
        Space,
        id=st.sampled_from(_SPACE_IDS) | identifiers("space"),
        name=st.sampled_from(_SPACE_NAMES) | _free_text(100),
        capacity=st.integers(min_value=1, max_value=500) | st.integers(1, 100_000),
        features=st.frozensets(st.sampled_from(_FEATURES) | _codes(), max_size=3),
    )
    return _venues(
        _VenueParts(
            ids=_given(id, identifiers("venue")),
            names=st.sampled_from(_VENUE_NAMES) | _free_text(100),
            cells=_cell_code_strategy(cell_codes),
            openings=_opening_calendars(),
            spaces=st.lists(space, min_size=1, max_size=4, unique_by=_space_id),
            starts=aware_datetimes(*_SCHEDULING_INSTANTS),
            lengths=st.timedeltas(dt.timedelta(minutes=1), dt.timedelta(days=30)),
            zones=time_zones(),
            reasons=st.sampled_from(_BLACKOUT_REASONS) | _free_text(200),
        )
    )


@st.composite
def _venues(draw: st.DrawFn, parts: _VenueParts) -> Venue:
    spaces = draw(parts.spaces)
    closed = st.none() | st.sampled_from([s.id for s in spaces])
    blackouts = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        start = draw(parts.starts)
        end = start + draw(parts.lengths)
        if draw(st.booleans()):
            end = end.in_timezone(draw(parts.zones))
        blackouts.append(Blackout(start, end, draw(parts.reasons), draw(closed)))
    return Venue(
        id=draw(parts.ids),
        name=draw(parts.names),
        cell_code=draw(parts.cells),
        opening=draw(parts.openings),
        spaces=spaces,
        blackouts=blackouts,
    )


def _criteria() -> st.SearchStrategy[Criterion]:
    """Eligibility criteria: ages, tags, health flags, living arrangements, and combinations."""
    leaves: st.SearchStrategy[Criterion] = st.one_of(
        st.builds(AgeAtLeast, st.integers(0, 150)),
        st.builds(AgeBelow, st.integers(0, 150)),
        st.builds(HasTag, tags()),
        st.builds(HasHealthFlag, health_flags()),
        st.builds(LivesAs, st.frozensets(st.sampled_from(LivingArrangement), min_size=1)),
        st.builds(HouseholdStatusIs, st.frozensets(st.sampled_from(HouseholdStatus), min_size=1)),
    )

    def extend(inner: st.SearchStrategy[Criterion]) -> st.SearchStrategy[Criterion]:
        many = st.lists(inner, min_size=1, max_size=3)
        return st.builds(AllOf, many) | st.builds(AnyOf, many) | st.builds(Not, inner)

    return st.recursive(leaves, extend, max_leaves=4)


def _rule_stamp(instant: dt.datetime) -> str:
    return instant.strftime("%Y%m%dT%H%M%S")


@st.composite
def _rules(draw: st.DrawFn, start: pendulum.DateTime) -> str | None:
    """An RRULE whose first occurrence is ``start`` (a wall time of the series' zone)."""
    freq = draw(st.sampled_from(("ONCE", "DAILY", "WEEKLY", "MONTHLY")))
    if freq == "ONCE":
        return None
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(min_value=1, max_value=3))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    weekday = start.weekday()
    if freq == "WEEKLY" and draw(st.booleans()):
        others = draw(st.frozensets(st.integers(0, 6), max_size=3))
        parts.append("BYDAY=" + ",".join(_RULE_DAYS[d] for d in sorted(others | {weekday})))
    elif freq == "DAILY" and weekday < 5 and draw(st.booleans()):
        parts.append("BYDAY=MO,TU,WE,TH,FR")
    elif freq == "MONTHLY" and draw(st.booleans()):  # the n-th weekday, as the start is
        parts.append(f"BYDAY={(start.day - 1) // 7 + 1}{_RULE_DAYS[weekday]}")
    ending = draw(st.sampled_from(("COUNT", "UNTIL_UTC", "UNTIL_LOCAL", "UNTIL_DATE", "NEVER")))
    if ending == "COUNT":
        parts.append(f"COUNT={draw(st.integers(min_value=1, max_value=40))}")
    elif ending != "NEVER":
        until = start.add(days=draw(st.integers(0, 400)), minutes=draw(st.integers(0, 600)))
        if ending == "UNTIL_UTC":
            parts.append(f"UNTIL={_rule_stamp(until.in_timezone('UTC'))}Z")
        elif ending == "UNTIL_LOCAL":
            parts.append(f"UNTIL={_rule_stamp(until)}")
        else:
            parts.append(f"UNTIL={until.strftime('%Y%m%d')}")
    return ";".join([parts[0], *draw(st.permutations(parts[1:]))])


@attrs.frozen
class _SeriesParts:
    venues: st.SearchStrategy[Venue]
    ids: st.SearchStrategy[str]
    titles: st.SearchStrategy[str]
    organisers: st.SearchStrategy[str]
    days: st.SearchStrategy[pendulum.Date]
    minutes: st.SearchStrategy[int]
    buffers: st.SearchStrategy[int]
    capacities: st.SearchStrategy[int | None]
    eligibility: st.SearchStrategy[Criterion | None]
    descriptions: st.SearchStrategy[str]
    notes: st.SearchStrategy[str]
    max_changes: int


def activity_series(
    venue: Venue | st.SearchStrategy[Venue] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    *,
    max_changes: int = 2,
) -> st.SearchStrategy[ActivitySeries]:
    """Recurring activities in one space of a venue, with valid rules, exceptions and changes.

    The first start is a wall time between 07:00 and 20:45 on a quarter hour in the series'
    zone (Asia/Shanghai, a DST zone, UTC, ...), sometimes expressed in another zone. The rule is
    a single occurrence or a daily, weekly or monthly RRULE, with an interval, a BYDAY that the
    first start matches (weekdays, several days of the week, the n-th weekday of the month), and
    a COUNT, an UNTIL (in UTC, in local time or a date) or no end at all. EXDATEs are
    occurrences of the rule other than the first; up to ``max_changes`` other occurrences are
    cancelled, moved in time, lengthened or moved to another space of the venue.

    Args:
        venue: The venue (a value or a strategy); drawn with :func:`venues` by default.
        id: The series' key, or a strategy of keys.
        max_changes: The most changed occurrences.

    Returns:
        A strategy of :class:`~gridgov.scheduling.series.ActivitySeries` at version 0.
    """
    return _activity_series(
        _SeriesParts(
            venues=_given(venue, venues()),
            ids=_given(id, identifiers("series")),
            titles=st.sampled_from(_SERIES_TITLES) | _free_text(200),
            organisers=identifiers("w") | st.sampled_from(("明宫社区居委会", "雁塔区图书馆")),
            days=dates(dt.date(2020, 1, 1), dt.date(2034, 12, 31)),
            minutes=st.integers(min_value=1, max_value=600),
            buffers=st.integers(min_value=0, max_value=12).map(lambda n: 5 * n),
            capacities=_maybe(st.integers(min_value=1, max_value=200)),
            eligibility=_maybe(_criteria()),
            descriptions=st.just("") | _free_text(300),
            notes=st.sampled_from(("", "场地维修", "老师请假", "moved to the hall")),
            max_changes=max_changes,
        )
    )


def _first_originals(series: ActivitySeries, count: int) -> list[pendulum.DateTime]:
    """Return the original starts of up to ``count`` first occurrences of a series."""
    horizon = series.start.add(days=max(40, 3 * count))
    found = series.occurrences(series.start, horizon, calendar=_NO_HOLIDAYS, include_cancelled=True)
    return sorted({o.original_start for o in found})[:count]


@st.composite
def _activity_series(draw: st.DrawFn, parts: _SeriesParts) -> ActivitySeries:
    venue = draw(parts.venues)
    tz = draw(st.sampled_from(_WALL_ZONES))
    day = draw(parts.days)
    quarters = draw(st.integers(7 * 4, 20 * 4 + 3))
    start = pendulum.datetime(day.year, day.month, day.day, quarters // 4, quarters % 4 * 15, tz=tz)
    series = ActivitySeries(
        id=draw(parts.ids),
        title=draw(parts.titles),
        organiser=draw(parts.organisers),
        venue_id=venue.id,
        space_id=draw(st.sampled_from([s.id for s in venue.spaces])),
        start=start,
        minutes=draw(parts.minutes),
        tz=tz,
        rrule=draw(_rules(start)),
        skip_holidays=draw(st.booleans()),
        setup_minutes=draw(parts.buffers),
        teardown_minutes=draw(parts.buffers),
        capacity=draw(parts.capacities),
        eligibility=draw(parts.eligibility),
        description=draw(parts.descriptions),
    )
    if draw(st.booleans()):  # the same instant, written in another zone
        series = attrs.evolve(series, start=start.in_timezone(draw(st.sampled_from(_WALL_ZONES))))
    originals = _first_originals(series, 12)
    later = originals[1:]
    exdates = draw(st.lists(st.sampled_from(later), max_size=3, unique=True)) if later else []
    rest = [o for o in later if o not in exdates]
    changed = (
        draw(st.lists(st.sampled_from(rest), max_size=parts.max_changes, unique=True))
        if rest
        else []
    )
    changes = [draw(_changes(original, venue, series, parts.notes)) for original in changed]
    return attrs.evolve(series, exdates=exdates, changes=changes)


@st.composite
def _changes(
    draw: st.DrawFn,
    original: pendulum.DateTime,
    venue: Venue,
    series: ActivitySeries,
    notes: st.SearchStrategy[str],
) -> OccurrenceChange:
    if draw(st.integers(min_value=0, max_value=2)) == 0:
        return OccurrenceChange(original, cancelled=True, note=draw(notes))
    moved = draw(_maybe(st.integers(min_value=-8, max_value=8 * 24).map(lambda q: 15 * q)))
    minutes = draw(_maybe(st.integers(min_value=1, max_value=600)))
    others = [s.id for s in venue.spaces if s.id != series.space_id]
    space = draw(_maybe(st.sampled_from(others))) if others else None
    if moved is None and minutes is None and space is None:
        moved = 60
    return OccurrenceChange(
        original,
        start=None if moved is None else original.add(minutes=moved),
        minutes=minutes,
        space_id=space,
        note=draw(notes),
    )


@st.composite
def _registrations(
    draw: st.DrawFn,
    series: st.SearchStrategy[ActivitySeries],
    resident_ids: st.SearchStrategy[str],
    ids: st.SearchStrategy[str],
) -> Registration:
    s = draw(series)
    found = s.occurrences(
        s.start.subtract(days=3),
        s.start.add(days=120),
        calendar=_NO_HOLIDAYS,
        include_cancelled=True,
    )
    occurrence = draw(st.sampled_from(found[:20]))
    registered = occurrence.start - draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=60)))
    return Registration(
        id=draw(ids),
        series_id=s.id,
        occurrence_id=occurrence.id,
        venue_id=s.venue_id,
        resident_id=draw(resident_ids),
        household_id=draw(identifiers("h")),
        cell_code=draw(cell_codes(level=GridLevel.GRID)),
        start=occurrence.start,
        end=occurrence.end,
        state=draw(st.sampled_from(list(RegistrationState))),
        registered_at=registered.in_timezone(draw(time_zones())),
    )


def registrations(
    series: ActivitySeries | st.SearchStrategy[ActivitySeries] | None = None,
    resident_id: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Registration]:
    """Registrations for a real occurrence of a series, in every state.

    The occurrence is one of the series' first (cancelled and moved ones included): the
    registration copies its id, series, venue, start and end, and was made up to 60 days
    before it starts, at an instant in any zone.

    Args:
        series: The series (a value or a strategy); :func:`activity_series` by default.
        resident_id: Who registers, or a strategy of resident ids.
        id: The registration's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.registrations.Registration` at version 0.
    """
    return _registrations(
        _given(series, activity_series()),
        _given(resident_id, identifiers("r")),
        _given(id, identifiers("reg")),
    )


@st.composite
def _shifts(
    draw: st.DrawFn, venue_ids: st.SearchStrategy[str], ids: st.SearchStrategy[str]
) -> Shift:
    start = draw(aware_datetimes(*_SCHEDULING_INSTANTS))
    end = start + draw(st.timedeltas(dt.timedelta(minutes=15), dt.timedelta(hours=12)))
    if draw(st.booleans()):
        end = end.in_timezone(draw(time_zones()))
    return Shift(
        id=draw(ids),
        venue_id=draw(venue_ids),
        title=draw(st.sampled_from(_SHIFT_TITLES) | _free_text(200)),
        start=start,
        end=end,
        required=draw(st.integers(min_value=1, max_value=50)),
        skills=draw(st.frozensets(st.sampled_from(_SKILLS) | _codes(), max_size=3)),
        occurrence_id=draw(_maybe(identifiers("occ"))),
    )


def shifts(
    venue_id: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Shift]:
    """Volunteer shifts of 15 minutes to 12 hours, with required counts and skills.

    Args:
        venue_id: The venue, or a strategy of venue ids.
        id: The shift's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.volunteers.Shift` at version 0.
    """
    return _shifts(_given(venue_id, identifiers("venue")), _given(id, identifiers("shift")))


@st.composite
def _signups(
    draw: st.DrawFn,
    shifts_: st.SearchStrategy[Shift],
    resident_ids: st.SearchStrategy[str],
    ids: st.SearchStrategy[str],
) -> SignUp:
    shift = draw(shifts_)
    state = draw(st.sampled_from(list(SignUpState)))
    hours = 0.0
    if state is SignUpState.COMPLETED:
        hours = draw(st.sampled_from((round(shift.hours, 2), 0.5, 2.0)))
    at = shift.start - draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=30)))
    return SignUp(
        id=draw(ids),
        shift_id=shift.id,
        resident_id=draw(resident_ids),
        start=shift.start,
        end=shift.end,
        state=state,
        at=at.in_timezone(draw(time_zones())),
        hours=hours,
    )


def signups(
    shift: Shift | st.SearchStrategy[Shift] | None = None,
    resident_id: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[SignUp]:
    """Volunteers' sign-ups for a shift, in every state; completed ones credit hours.

    A sign-up copies its shift's start and end and was made up to 30 days before the shift.

    Args:
        shift: The shift (a value or a strategy); :func:`shifts` by default.
        resident_id: The volunteer, or a strategy of resident ids.
        id: The sign-up's key, or a strategy of keys.

    Returns:
        A strategy of :class:`~gridgov.scheduling.volunteers.SignUp` at version 0.
    """
    return _signups(
        _given(shift, shifts()),
        _given(resident_id, identifiers("r")),
        _given(id, identifiers("su")),
    )


# --- the audit trail --------------------------------------------------------------------------

_AUDIT_SUBJECT_KINDS = ("resident", "household", "case", "contact")
_AUDIT_QUERIES = ("query:households", "query:residents", "export:households", "export:ical")
_AUDIT_DETAILS = ("read", "write", "full_view", "read_audit", "csv", "json", "ical", "out of scope")


@st.composite
def _audit_entries(
    draw: st.DrawFn,
    principal_ids: st.SearchStrategy[str],
    subjects: st.SearchStrategy[str],
    ids: st.SearchStrategy[str],
    kinds: st.SearchStrategy[AuditKind],
    details: st.SearchStrategy[str],
) -> AuditEntry:
    return AuditEntry(
        id=draw(ids),
        at=draw(aware_datetimes()),
        principal_id=draw(principal_ids),
        kind=draw(kinds),
        subject=draw(subjects),
        cell_code=draw(_maybe(cell_codes())),
        detail=draw(details),
    )


def audit_entries(
    principal_id: str | st.SearchStrategy[str] | None = None,
    subject: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    kind: AuditKind | st.SearchStrategy[AuditKind] | None = None,
) -> st.SearchStrategy[AuditEntry]:
    """Lines of the audit trail: denials, views of full records and exports, in any zone.

    Subjects are mostly records (``resident:<id>``, ``case:<id>``) and queries
    (``query:households``), sometimes free text; the cell is a code or ``None``; the detail is
    empty, a permission or a format, or free text.

    Args:
        principal_id: Who acted, or a strategy of principal ids.
        subject: What it concerned, or a strategy of subjects.
        id: The entry's key, or a strategy of keys.
        kind: What the entry records, or a strategy of kinds.

    Returns:
        A strategy of :class:`~gridgov.access.AuditEntry` at version 0.
    """
    records = st.builds("{}:{}".format, st.sampled_from(_AUDIT_SUBJECT_KINDS), identifiers())
    return _audit_entries(
        _given(principal_id, identifiers("w") | st.just("system") | identifiers()),
        _given(subject, records | st.sampled_from(_AUDIT_QUERIES) | _free_text(200)),
        _given(id, identifiers("audit")),
        _given(kind, st.sampled_from(list(AuditKind))),
        st.just("") | st.sampled_from(_AUDIT_DETAILS) | _free_text(500),
    )
