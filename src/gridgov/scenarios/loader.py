"""Scenario files: an area, its workers and its ledger in TOML and CSV, loaded into a store.

A scenario is a directory holding ``scenario.toml``::

    [scenario]
    name = "明宫社区 Minggong"
    as_of = 2026-11-28                     # optional reference date for reports

    [[cells]]                              # GridCell fields; boundary as a GeoJSON geometry
    code = "610102"
    name = "新城区"
    level = "district"

    [[workers]]                            # Worker fields
    [[households]]                         # Household fields, members inline
    households_csv = ["households.csv"]    # more households, relative to the scenario file
    contacts_csv = ["contacts.csv"]        # contact history, replayed through the care rules
    [care_policy]                          # optional: a CarePolicy (default: DEFAULT_POLICY)
    [calendar]                             # optional: WorkCalendar.from_mapping (holidays ...);
                                           # default: WorkCalendar.china() (extra "cn")
    [[case_catalogue.majors]]              # optional: major categories of the trees (大类)
    [[case_catalogue.categories]]          # optional: categories added to the default catalogue
    [[departments]]                        # optional: functional departments (Department fields)
    [[components]]                         # optional: coded components (Component fields)
    components_csv = ["components.csv"]    # more components (gridgov.scenarios.components)
    [targets]                              # optional: Targets (shares 0-1), [targets.cells.CODE]
    callback_within = "2 working_days"     # optional: when a closed case's reporter is called back
    [[cases]]                              # case stories, replayed through the case workflow
    [[venues]]                             # Venue fields, with hours = {monday = ["09:00-12:00"]}
    [[activities]]                         # ActivitySeries fields
    [[shifts]]                             # Shift fields, volunteers = [...], present = [...]
    registrations_csv = ["registrations.csv"]  # replayed through the registration service

Everything goes through the converter of :mod:`gridgov.serialization`, so unknown keys are
rejected and every error is one :class:`~gridgov.errors.ValidationError` naming the file, the path
and the problem, e.g. ``households.csv: line 17.national_id: the check character does not match
(GB 11643 MOD 11-2)``. Messages never repeat the values, which may be personal.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.calendar import WorkCalendar
from gridgov.care.contacts import ContactAttempt
from gridgov.care.policy import DEFAULT_POLICY, CarePolicy
from gridgov.cases.catalogue import DEFAULT_CATALOGUE, ServiceCatalogue, TimeLimit
from gridgov.cases.components import Component
from gridgov.cases.departments import Department, check_departments
from gridgov.cases.workflow import DEFAULT_CALLBACK_WITHIN, CaseWorkflow
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import NotFoundError, Problem, ValidationError, join_path
from gridgov.grid import GridCell, GridLevel, GridTree, Worker
from gridgov.households import Household
from gridgov.ports import ProgressCallback, Store, UnitOfWork
from gridgov.scenarios._households_csv import (
    CSV_COLUMNS,
    _raise,
    _read_csv,
    read_households_csv,
    write_households_csv,
)
from gridgov.scenarios.cases import CaseStory, replay_cases
from gridgov.scenarios.components import check_components, read_components_csv
from gridgov.scenarios.contacts_csv import read_contacts_csv
from gridgov.scenarios.programme import (
    RegistrationRequest,
    ShiftStory,
    read_registrations_csv,
    replay_programme,
    stored_at,
    venue_calendar,
)
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift
from gridgov.serialization import structure
from gridgov.services.care import replay_contacts
from gridgov.settings import LoadedScenario, Settings, stored_settings
from gridgov.targets import Targets

__all__ = [
    "CSV_COLUMNS",
    "SCENARIO_FILE",
    "LoadReport",
    "Scenario",
    "ScenarioMeta",
    "load_scenario",
    "populate",
    "read_households_csv",
    "write_households_csv",
]

_log = logging.getLogger(__name__)
SCENARIO_FILE = "scenario.toml"
"""The name of the scenario file inside a scenario directory."""

# --- the scenario ----------------------------------------------------------------------------


@attrs.frozen
class ScenarioMeta:
    """The ``[scenario]`` table of a scenario file.

    Args:
        name: The scenario's name.
        description: What it describes.
        as_of: The reference date of its reports, if fixed.
        code_scheme: How its cell codes are built; :data:`gridgov.codes.DEFAULT_SCHEME` if
            absent. Its ``name`` may be left out.
    """

    name: str = attrs.field(validator=v.text(100))
    description: str = attrs.field(default="", validator=v.text(2000, allow_empty=True))
    as_of: pendulum.Date | None = attrs.field(default=None, validator=v.optional(v.date))
    code_scheme: CodeScheme | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(CodeScheme))
    )


@attrs.frozen
class _ScenarioFile:
    """The whole of ``scenario.toml``, as structured by the converter."""

    scenario: ScenarioMeta
    cells: tuple[GridCell, ...] = ()
    workers: tuple[Worker, ...] = ()
    households: tuple[Household, ...] = ()
    households_csv: tuple[str, ...] = ()
    contacts_csv: tuple[str, ...] = ()
    care_policy: CarePolicy | None = None
    departments: tuple[Department, ...] = ()
    components: tuple[Component, ...] = ()
    components_csv: tuple[str, ...] = ()
    targets: Targets | None = None
    callback_within: TimeLimit | None = None
    cases: tuple[CaseStory, ...] = ()
    activities: tuple[ActivitySeries, ...] = ()
    registrations_csv: tuple[str, ...] = ()


def _cells(value: Iterable[GridCell]) -> tuple[GridCell, ...]:
    return v.to_tuple(value)


def _workers(value: Iterable[Worker]) -> tuple[Worker, ...]:
    return v.to_tuple(value)


def _households(value: Iterable[Household]) -> tuple[Household, ...]:
    return v.to_tuple(value)


def _contacts(value: Iterable[ContactAttempt]) -> tuple[ContactAttempt, ...]:
    return v.to_tuple(value)


def _stories(value: Iterable[CaseStory]) -> tuple[CaseStory, ...]:
    return v.to_tuple(value)


def _venues(value: Iterable[Venue]) -> tuple[Venue, ...]:
    return v.to_tuple(value)


def _activities(value: Iterable[ActivitySeries]) -> tuple[ActivitySeries, ...]:
    return v.to_tuple(value)


def _shift_stories(value: Iterable[ShiftStory]) -> tuple[ShiftStory, ...]:
    return v.to_tuple(value)


def _departments(value: Iterable[Department]) -> tuple[Department, ...]:
    return v.to_tuple(value)


def _components(value: Iterable[Component]) -> tuple[Component, ...]:
    return v.to_tuple(value)


def _requests(value: Iterable[RegistrationRequest]) -> tuple[RegistrationRequest, ...]:
    return v.to_tuple(value)


@attrs.frozen(repr=False)
class Scenario:
    """A validated scenario: an area hierarchy, its workers and its households.

    Args:
        name: The scenario's name.
        description: What it describes.
        as_of: The reference date of its reports, if fixed.
        scheme: The code scheme of its cells.
        cells: The cells, in any order.
        workers: The workers.
        households: The households.
        policy: The care policy its contacts follow.
        contacts: The contact history, in time order.
        calendar: Its working calendar, if it brings one (else :meth:`WorkCalendar.china`).
        catalogue: The service catalogue its cases use.
        cases: Its case stories, in the order they are replayed.
        venues: Its venues.
        activities: Its activity series.
        shifts: Its volunteer shifts and who volunteered.
        registrations: Its registrations, in time order.
        departments: Its functional departments, to which cases are routed.
        components: Its register of coded components (部件).
        targets: Its targets (:mod:`gridgov.targets`), if it sets any.
        callback_within: When a closed case's reporter is called back, if it says
            (``None``: :data:`~gridgov.cases.workflow.DEFAULT_CALLBACK_WITHIN`).
    """

    name: str = attrs.field(validator=v.text(100))
    description: str = attrs.field(default="", validator=v.text(2000, allow_empty=True))
    as_of: pendulum.Date | None = attrs.field(default=None, validator=v.optional(v.date))
    scheme: CodeScheme = attrs.field(default=DEFAULT_SCHEME, validator=v.instance_of(CodeScheme))
    cells: tuple[GridCell, ...] = attrs.field(
        default=(), converter=_cells, validator=v.collection_of(GridCell)
    )
    workers: tuple[Worker, ...] = attrs.field(
        default=(), converter=_workers, validator=v.collection_of(Worker)
    )
    households: tuple[Household, ...] = attrs.field(
        default=(), converter=_households, validator=v.collection_of(Household)
    )
    policy: CarePolicy = attrs.field(default=DEFAULT_POLICY, validator=v.instance_of(CarePolicy))
    contacts: tuple[ContactAttempt, ...] = attrs.field(
        default=(), converter=_contacts, validator=v.collection_of(ContactAttempt)
    )
    calendar: WorkCalendar | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(WorkCalendar))
    )
    catalogue: ServiceCatalogue = attrs.field(
        default=DEFAULT_CATALOGUE, validator=v.instance_of(ServiceCatalogue)
    )
    cases: tuple[CaseStory, ...] = attrs.field(
        default=(), converter=_stories, validator=v.collection_of(CaseStory)
    )
    venues: tuple[Venue, ...] = attrs.field(
        default=(), converter=_venues, validator=v.collection_of(Venue)
    )
    activities: tuple[ActivitySeries, ...] = attrs.field(
        default=(), converter=_activities, validator=v.collection_of(ActivitySeries)
    )
    shifts: tuple[ShiftStory, ...] = attrs.field(
        default=(), converter=_shift_stories, validator=v.collection_of(ShiftStory)
    )
    registrations: tuple[RegistrationRequest, ...] = attrs.field(
        default=(), converter=_requests, validator=v.collection_of(RegistrationRequest)
    )
    departments: tuple[Department, ...] = attrs.field(
        default=(), converter=_departments, validator=v.collection_of(Department)
    )
    components: tuple[Component, ...] = attrs.field(
        default=(), converter=_components, validator=v.collection_of(Component)
    )
    targets: Targets | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Targets))
    )
    callback_within: TimeLimit | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(TimeLimit))
    )

    def workflow(self) -> CaseWorkflow:
        """Return the case workflow of the scenario: its calendar, catalogue, default escalation.

        Raises:
            ValidationError: If the scenario brings no calendar and ``chinesecalendar`` (extra
                ``cn``) is not installed.
        """
        return CaseWorkflow(
            self.calendar or WorkCalendar.china(),
            self.catalogue,
            callback_within=self.callback_within or DEFAULT_CALLBACK_WITHIN,
        )

    def settings(self) -> Settings:
        """Return the settings a store filled from this scenario keeps: its rules and its name.

        The calendar is the scenario's own, else :meth:`WorkCalendar.china` when the ``cn``
        extra is installed, else none (case services are then given a workflow).
        """
        calendar = self.calendar
        if calendar is None:
            try:
                calendar = WorkCalendar.china()
            except ValidationError:  # chinesecalendar is not installed
                calendar = None
        return Settings(
            catalogue=self.catalogue,
            calendar=calendar,
            care_policy=self.policy,
            scenario=LoadedScenario(self.name, self.as_of),
            scheme=self.scheme,
            departments=self.departments,
            targets=self.targets,
            callback_within=self.callback_within,
        )

    def tree(self) -> GridTree:
        """Return the cells as a validated tree.

        Raises:
            ValidationError: If the cells do not form a valid hierarchy under the scheme.
        """
        return GridTree(self.cells, self.scheme)

    def __repr__(self) -> str:
        return (
            f"Scenario(name={self.name!r}, cells={len(self.cells)}, workers={len(self.workers)}, "
            f"households={len(self.households)}, contacts={len(self.contacts)})"
        )


@attrs.frozen
class LoadReport:
    """What :func:`populate` stored.

    Args:
        cells: The number of cells.
        workers: The number of workers.
        households: The number of households.
        residents: The number of residents in those households.
        contacts: The number of contacts replayed.
        tasks: The number of care tasks open afterwards.
        cases: The number of case stories replayed.
        series: The number of activity series stored.
        registrations: The number of registrations replayed.
    """

    cells: int
    workers: int
    households: int
    residents: int
    contacts: int = 0
    tasks: int = 0
    cases: int = 0
    series: int = 0
    registrations: int = 0


# --- loading ---------------------------------------------------------------------------------


def load_scenario(path: Path | str, *, households: bool = True) -> Scenario:
    """Read and validate a scenario.

    Args:
        path: A scenario directory holding ``scenario.toml``, or the TOML file itself.
        households: Whether to read the households (inline and CSV); without them the
            residents' records are left out too (contacts, volunteers' sign-ups, registrations),
            e.g. to generate a population for the cells.

    Returns:
        The scenario, with every cell, worker and household validated and cross-checked:
        cells form a tree, workers are assigned to its cells, households live in its grid or
        building cells, and household and resident ids are unique.

    Raises:
        NotFoundError: If there is no scenario file at ``path``.
        ValidationError: On the first file with a problem, naming the file, the path in it
            (``households[3].members[0].national_id``, ``line 17.national_id``) and every problem
            found there.
    """
    file = Path(path)
    if file.is_dir():
        file = file / SCENARIO_FILE
    source = file.name
    data = _read_toml(file, source)
    calendar, catalogue = _case_rules(data, source)
    venues = _venues_of(data, calendar, source)
    shifts = _shifts_of(data, source)
    doc = structure(_default_scheme_name(data), _ScenarioFile, source=source)
    scheme = doc.scenario.code_scheme or DEFAULT_SCHEME
    try:
        tree = GridTree(doc.cells, scheme)
    except ValidationError as exc:
        raise exc.from_source(source) from None
    _check_workers(doc.workers, tree, source)
    _check_departments(doc.departments, tree, doc.workers, source)
    components = (
        *doc.components,
        *chain.from_iterable(
            read_components_csv(_csv_file(file.parent, name, f"components_csv[{i}]", source))
            for i, name in enumerate(doc.components_csv)
        ),
    )
    check_components(components, tree, catalogue, doc.departments, source)
    _check_targets(doc.targets, tree, source)
    loaded: tuple[Household, ...] = ()
    if households:
        ledger = _Ledger(tree, doc.scenario.as_of)
        csv_files = [
            (_csv_file(file.parent, name, f"households_csv[{i}]", source), name)
            for i, name in enumerate(doc.households_csv)
        ]
        inline = ledger.checked(doc.households, source)
        streams = (_read_csv(csv_path, name, ledger.check) for csv_path, name in csv_files)
        loaded = tuple(chain(inline, *streams))
    contacts: tuple[ContactAttempt, ...] = ()
    if households and doc.contacts_csv:
        owners = {m.id: h for h in loaded for m in h.members}
        contacts = tuple(
            chain.from_iterable(
                read_contacts_csv(
                    _csv_file(file.parent, name, f"contacts_csv[{i}]", source), owners
                )
                for i, name in enumerate(doc.contacts_csv)
            )
        )
    return Scenario(
        name=doc.scenario.name,
        description=doc.scenario.description,
        as_of=doc.scenario.as_of,
        scheme=scheme,
        cells=tuple(tree),
        workers=doc.workers,
        households=loaded,
        policy=doc.care_policy or DEFAULT_POLICY,
        contacts=tuple(sorted(contacts, key=lambda c: (c.at, c.id))),
        calendar=calendar,
        catalogue=catalogue,
        cases=doc.cases,
        venues=venues,
        activities=doc.activities,
        departments=doc.departments,
        components=components,
        targets=doc.targets,
        callback_within=doc.callback_within,
        # Sign-ups and registrations name residents: they come with the ledger only.
        shifts=shifts if households else tuple(ShiftStory(story.shift) for story in shifts),
        registrations=tuple(
            chain.from_iterable(
                read_registrations_csv(
                    _csv_file(file.parent, name, f"registrations_csv[{i}]", source)
                )
                for i, name in enumerate(doc.registrations_csv)
            )
        )
        if households
        else (),
    )


def _venues_of(
    data: dict[str, object], calendar: WorkCalendar | None, source: str
) -> tuple[Venue, ...]:
    """Take ``[[venues]]`` out of ``data``: each venue's ``hours`` on the scenario's calendar."""
    raw = data.pop("venues", [])
    if not isinstance(raw, list):
        raise ValidationError("venues", "expected an array of tables", source=source)
    venues = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ValidationError(f"venues[{i}]", "expected a table", source=source)
        item = dict(entry)
        try:
            opening = venue_calendar(calendar, item.pop("hours", {}), f"venues[{i}]")
        except ValidationError as exc:
            raise exc.from_source(source) from None
        item["opening"] = opening.to_mapping()
        try:
            venues.append(structure(item, Venue))
        except ValidationError as exc:
            raise exc.within(f"venues[{i}]").from_source(source) from None
    return tuple(venues)


def _shifts_of(data: dict[str, object], source: str) -> tuple[ShiftStory, ...]:
    """Take ``[[shifts]]`` out of ``data``, with who volunteered and who came."""
    raw = data.pop("shifts", [])
    if not isinstance(raw, list):
        raise ValidationError("shifts", "expected an array of tables", source=source)
    stories = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ValidationError(f"shifts[{i}]", "expected a table", source=source)
        item = dict(entry)
        volunteers = item.pop("volunteers", [])
        present = item.pop("present", None)
        try:
            shift = structure(item, Shift)
            stories.append(
                ShiftStory(
                    shift,
                    structure(volunteers, tuple[str, ...]),
                    None if present is None else structure(present, tuple[str, ...]),
                )
            )
        except ValidationError as exc:
            raise exc.within(f"shifts[{i}]").from_source(source) from None
    return tuple(stories)


def _case_rules(
    data: dict[str, object], source: str
) -> tuple[WorkCalendar | None, ServiceCatalogue]:
    """Take the ``[calendar]`` and ``[case_catalogue]`` tables out of ``data`` and build them."""
    calendar = None
    raw_calendar = data.pop("calendar", None)
    if raw_calendar is not None:
        if not isinstance(raw_calendar, dict):
            raise ValidationError("calendar", "expected a table", source=source)
        try:
            calendar = WorkCalendar.from_mapping(raw_calendar)
        except ValidationError as exc:
            raise exc.within("calendar").from_source(source) from None
    catalogue = DEFAULT_CATALOGUE
    raw_catalogue = data.pop("case_catalogue", None)
    if raw_catalogue is not None:
        if not isinstance(raw_catalogue, dict):
            raise ValidationError("case_catalogue", "expected a table", source=source)
        try:
            catalogue = ServiceCatalogue.from_mapping(raw_catalogue, base=DEFAULT_CATALOGUE)
        except ValidationError as exc:
            raise exc.within("case_catalogue").from_source(source) from None
    return calendar, catalogue


def _read_toml(file: Path, source: str) -> dict[str, object]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NotFoundError("scenario file", str(file)) from None
    except UnicodeDecodeError:
        raise ValidationError("", "not UTF-8 text", source=source) from None
    except OSError as exc:
        raise ValidationError("", f"cannot read the file ({exc.strerror})", source=source) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, source) from None


_TOML_AT = re.compile(r"(.*) \(at line (\d+), column (\d+)\)")


def _toml_error(exc: tomllib.TOMLDecodeError, source: str) -> ValidationError:
    # tomllib's messages describe the syntax, never the values: safe to repeat.
    message = str(exc)
    m = _TOML_AT.fullmatch(message)
    if m is None:
        return ValidationError("", f"TOML syntax error: {message}", source=source)
    return ValidationError(
        f"line {m[2]}", f"TOML syntax error: {m[1]} (column {m[3]})", source=source
    )


def _default_scheme_name(data: dict[str, object]) -> dict[str, object]:
    """Give an inline code scheme a name when the file leaves it out."""
    meta = data.get("scenario")
    if isinstance(meta, dict):
        scheme = meta.get("code_scheme")
        if isinstance(scheme, dict) and "name" not in scheme:
            return {**data, "scenario": {**meta, "code_scheme": {"name": "scenario", **scheme}}}
    return data


def _csv_file(folder: Path, name: str, path: str, source: str) -> Path:
    file = folder / name
    # A scenario names its own files: an absolute path, ``..`` or a link out of its folder would
    # let a shared scenario read anything the process may read.
    try:
        inside = file.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        inside = False
    if not inside:
        raise ValidationError(path, "a file in the scenario's folder or below it", source=source)
    if not file.is_file():
        raise ValidationError(path, "file not found next to the scenario file", source=source)
    return file


def _check_workers(workers: Sequence[Worker], tree: GridTree, source: str) -> None:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, worker in enumerate(workers):
        if worker.id in seen:
            problems.append((f"workers[{i}].id", "duplicate worker id"))
        seen.add(worker.id)
        for j, assignment in enumerate(worker.assignments):
            if assignment.cell_code not in tree:
                problems.append((f"workers[{i}].assignments[{j}].cell_code", "unknown cell"))
    _raise(problems, source)


def _check_targets(targets: Targets | None, tree: GridTree, source: str) -> None:
    """Check that the cells targets are set for are cells of the tree."""
    for code in () if targets is None else targets.cells:
        if code not in tree:
            raise ValidationError(f"targets.cells[{code}]", "no such cell", source=source)


def _check_departments(
    departments: Sequence[Department], tree: GridTree, workers: Sequence[Worker], source: str
) -> None:
    """Check that departments name known parents, cells of the tree and workers."""
    try:
        check_departments(departments)
    except ValidationError as exc:
        raise exc.from_source(source) from None
    worker_ids = {w.id for w in workers}
    for i, department in enumerate(departments):
        for j, code in enumerate(department.cells):
            if code not in tree:
                raise ValidationError(f"departments[{i}].cells[{j}]", "no such cell", source=source)
        for j, worker in enumerate(department.supervisors):
            if worker not in worker_ids:
                raise ValidationError(
                    f"departments[{i}].supervisors[{j}]", "no such worker", source=source
                )


class _Ledger:
    """Cross-checks households against the tree and each other while they stream in."""

    def __init__(self, tree: GridTree, as_of: pendulum.Date | None = None) -> None:
        self._tree = tree
        self._as_of = as_of
        self._households: set[str] = set()
        self._residents: set[str] = set()
        self._national_ids: dict[str, str] = {}  # ID number -> the resident who holds it

    def check(self, household: Household) -> list[Problem]:
        """Record ``household`` and return its problems, with paths relative to it."""
        problems: list[Problem] = []
        if household.cell_code not in self._tree:
            problems.append(("cell_code", "unknown cell"))
        elif self._tree.get(household.cell_code).level not in (GridLevel.GRID, GridLevel.BUILDING):
            problems.append(("cell_code", "a household lives in a grid or building cell"))
        if household.id in self._households:
            problems.append(("id", "duplicate household id"))
        self._households.add(household.id)
        for i, member in enumerate(household.members):
            if member.id in self._residents:
                problems.append((f"members[{i}].id", "duplicate resident id"))
            self._residents.add(member.id)
            born = member.birth_date
            if self._as_of is not None and born is not None and born > self._as_of:
                problems.append((f"members[{i}].birth_date", "is after the scenario's as_of date"))
            if member.national_id is not None:
                # One person, one ID number: a second holder is a typing error or a duplicate
                # record. The message names the other resident, never the number.
                other = self._national_ids.setdefault(member.national_id.value, member.id)
                if other != member.id:
                    problems.append(
                        (f"members[{i}].national_id", f"the same ID number as resident {other!r}")
                    )
        return problems

    def checked(self, households: Sequence[Household], source: str) -> Sequence[Household]:
        problems: list[Problem] = []
        for i, household in enumerate(households):
            problems.extend((join_path(f"households[{i}]", p), m) for p, m in self.check(household))
        _raise(problems, source)
        return households


# --- storing ---------------------------------------------------------------------------------


def populate(
    store: Store, scenario: Scenario, *, progress: ProgressCallback | None = None
) -> LoadReport:
    """Store a scenario's cells, workers and households in one unit of work.

    Cells are added parents first, then workers, then households through
    :meth:`~gridgov.ports.HouseholdRepository.add_many`; then the contact history is replayed in
    time order through :func:`gridgov.services.care.replay_contacts` (what
    :func:`~gridgov.services.care.record_contact` does contact by contact, read and written once
    per resident), so its follow-ups and routine tasks are what the care rules make of it; then
    the settings are saved and the case stories replayed through the case workflow. The
    unit of work commits once, so a failure stores nothing.

    Args:
        store: The store to fill; its code scheme must fit the scenario's cell codes.
        scenario: The scenario, e.g. from :func:`load_scenario`.
        progress: Called with the number of households stored so far.

    Returns:
        How many records were stored.

    Raises:
        ValidationError: If the cells do not form a tree under the store's code scheme, or a
            record does not fit the store.
        ConflictError: If a record with the same key is already stored.
        TransitionError: If a case story takes a step its case's state or the role forbids.
        CalendarCoverageError: If a case or an activity needs a year the calendar lacks.
    """
    tree = GridTree(scenario.cells, store.scheme)
    with store() as uow:
        for cell in tree:
            uow.cells.add(cell)
        for i, worker in enumerate(scenario.workers):
            try:
                uow.workers.add(worker)
            except ValidationError as exc:
                raise exc.within(f"workers[{i}]") from None
        count = uow.households.add_many(scenario.households, progress=progress)
        store_settings(uow, scenario)
        uow.components.add_many(scenario.components)
        replayed = replay_contacts(uow, scenario.contacts, policy=scenario.policy)
        cases = store_cases(uow, scenario)
        series, registrations = store_programme(uow, scenario)
        uow.commit()
    _log.info(
        "populated %s: %d cells, %d households, %d contacts, %d cases, %d series",
        scenario.name,
        len(tree),
        count,
        len(scenario.contacts),
        cases,
        series,
    )
    return LoadReport(
        cells=len(tree),
        workers=len(scenario.workers),
        households=count,
        residents=sum(len(h.members) for h in scenario.households),
        contacts=len(scenario.contacts),
        tasks=replayed.tasks_open,
        cases=cases,
        series=series,
        registrations=registrations,
    )


def store_settings(uow: UnitOfWork, scenario: Scenario) -> Settings:
    """Save a scenario's rules and name as the store's settings; return what is stored.

    Settings already stored keep what they hold (an operator may have changed them); only what
    they lack (calendar, care policy, the scenario's name) is added, as a new version.
    """
    wanted = scenario.settings()
    stored = stored_settings(uow)
    if stored is None:
        return uow.settings.save(wanted)
    completed = attrs.evolve(
        stored,
        calendar=stored.calendar or wanted.calendar,
        care_policy=stored.care_policy or wanted.care_policy,
        scenario=stored.scenario or wanted.scenario,
        departments=stored.departments or wanted.departments,
        targets=stored.targets or wanted.targets,
        callback_within=stored.callback_within or wanted.callback_within,
    )
    return stored if completed == stored else uow.settings.save(completed)


def store_cases(uow: UnitOfWork, scenario: Scenario) -> int:
    """Replay a scenario's case stories on its workflow; return how many.

    Raises:
        ValidationError: Naming the story and the problem.
        TransitionError: If a story takes a step its case's state or the role forbids.
    """
    if not scenario.cases:
        return 0
    return replay_cases(uow, scenario.workflow(), scenario.cases)


def store_programme(uow: UnitOfWork, scenario: Scenario) -> tuple[int, int]:
    """Store a scenario's venues, activities, shifts and registrations.

    Returns:
        How many activity series and registrations were stored.

    Raises:
        ValidationError: Naming the activity, shift or registration that fails.
    """
    for i, venue in enumerate(scenario.venues):
        with stored_at(f"venues[{i}]"):
            uow.venues.add(venue)
    series, _, registrations = replay_programme(
        uow, scenario.activities, scenario.shifts, scenario.registrations
    )
    return series, registrations
