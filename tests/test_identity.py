"""Keyed ID digests: the key, the digest, the migration filling it, finding people, discharges."""

import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov import (
    Address,
    ConflictError,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    Resident,
    Store,
    Tag,
    ValidationError,
    open_store,
)
from gridgov.adapters import _sql
from gridgov.adapters.sqlite import SqliteDialect, SqliteStore
from gridgov.care.contacts import Outcome, TaskKind
from gridgov.care.criteria import AgeAtLeast
from gridgov.care.policy import Cadence, ContactMethod, Tier
from gridgov.codes import NationalId, id_check_character
from gridgov.idempotency import RememberedRequest
from gridgov.identity import ID_KEY_VARIABLE, IdKey, rehash_ids
from gridgov.ports import IdHolder
from gridgov.redaction import redact
from gridgov.services.care import record_contact
from gridgov.services.identity import (
    Discharge,
    ListMatch,
    ListMatches,
    find_person,
    match_list,
    record_discharges,
)
from gridgov.services.person import erase_person
from gridgov.testing.strategies import national_ids

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
GRID = "610102003006001"
OTHER_GRID = "610102003006002"
KEY = IdKey(b"k" * 32)
FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789X"}


def _id(birth: str, seq: int) -> str:
    body = f"610102{birth}{seq:03d}"
    return body + id_check_character(body)


ID_1, ID_2, ID_X = _id("19400101", 11), _id("19450505", 22), "11010519491231002X"


def _elder(rid: str, national_id: str | None) -> Resident:
    return Resident(
        rid,
        "居民" + rid,
        national_id=national_id,
        tags={Tag.LIVING_ALONE},
        living_arrangement=LivingArrangement.ALONE,
    )


def _cells() -> list[GridCell]:
    return [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
        GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
        GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
        GridCell(OTHER_GRID, "二号网格", GridLevel.GRID, "610102003006"),
    ]


def _households() -> list[Household]:
    return [
        Household("h1", GRID, Address("1号楼"), members=(_elder("r1", ID_1),)),
        Household("h2", GRID, Address("2号楼"), members=(_elder("r2", ID_2),)),
        Household("h3", OTHER_GRID, Address("3号楼"), members=(_elder("r3", ID_1),)),
    ]


def _fill(store: Store) -> Store:
    with store() as uow:
        for cell in _cells():
            uow.cells.add(cell)
        for household in _households():
            uow.households.add(household)
        uow.commit()
    return store


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store with the deployment's key, two grids and three households."""
    s = _fill(open_store("memory://", id_key=KEY))
    yield s
    s.close()


# -- the key and the digest ---------------------------------------------------------------


@given(national_ids(), st.booleans(), st.booleans())
def test_the_digest_is_the_same_for_every_spelling(
    national_id: NationalId, fullwidth: bool, spaced: bool
) -> None:
    """Full-width digits, a lower-case x, spaces and dashes give the number's own digest."""
    text = national_id.value.lower()
    if fullwidth:
        text = national_id.value.translate(FULLWIDTH)
    if spaced:
        text = f" {text[:6]} {text[6:14]}-{text[14:]} "
    assert KEY.digest(national_id) == KEY.digest(text)


@given(national_ids(), st.binary(min_size=16, max_size=64), st.binary(min_size=16, max_size=64))
def test_the_digest_differs_across_keys_and_never_holds_the_number(
    national_id: NationalId, one: bytes, other: bytes
) -> None:
    """Two keys give two digests; no digest equals or contains the number or its parts."""
    a, b = IdKey(one).digest(national_id), IdKey(other).digest(national_id)
    value = national_id.value
    leaks = [d for d in (a, b) if value in d or value[6:14] in d or d == value]
    assert (one == other, [], 64) == (a == b, leaks, len(a))


def test_the_key_shows_only_its_fingerprint_and_is_never_pickled() -> None:
    """``repr`` and ``str`` give a fingerprint; pickling refuses; bytes never appear."""
    key = IdKey.from_text("ab" * 32)
    shown = f"{key!r} {key}"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert (False, True) == ("ab" * 8 in shown or "\\xab" in shown, key.fingerprint in shown)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("zz" * 32, "an ID key is written as hex digits"),
        ("ab" * 8, "an ID key is at least 16 bytes"),
    ],
)
def test_a_bad_key_names_id_key_and_never_repeats_it(text: str, problem: str) -> None:
    """A key that is not hex or too short is refused naming ``id_key``."""
    with pytest.raises(ValidationError) as info:
        IdKey.from_environment({ID_KEY_VARIABLE: text})
    assert ("id_key", problem, False) == (info.value.path, info.value.problem, text in str(info))


def test_no_key_in_the_environment_is_none() -> None:
    """An unset or empty variable is no key: the store computes no digests."""
    assert (None, None) == (
        IdKey.from_environment({}),
        IdKey.from_environment({ID_KEY_VARIABLE: " "}),
    )


def test_a_masked_number_has_no_digest() -> None:
    """A masked number stands for many people: refused naming ``national_id``."""
    from gridgov.codes import MaskedNationalId

    with pytest.raises(ValidationError) as info:
        KEY.digest(MaskedNationalId(NationalId(ID_1).masked))
    assert "national_id" == info.value.path


# -- the Python migration step ----------------------------------------------------------------


def _schema_10(path: Path, patch: pytest.MonkeyPatch, without: Callable[..., None]) -> None:
    """Write the households into a SQLite file at schema 10, as gridgov then wrote them."""
    with patch.context() as p:
        p.setattr(SqliteDialect, "migrations", SqliteDialect.migrations[:10])
        without(p)
        _fill(SqliteStore(path)).close()


def test_a_schema_10_database_gets_the_digests_of_its_residents_when_opened_with_a_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """The step of version 11 fills the digests under the key; the schema is then the latest."""
    path = tmp_path / "v10.db"
    _schema_10(path, monkeypatch, without_id_digests)
    store = SqliteStore(path, id_key=KEY)
    with store() as uow:
        found = find_person(uow, ID_1, KEY)
        version = uow.query_one(f"SELECT version FROM {_sql.SCHEMA_VERSION_TABLE}")
    store.close()
    expected = (IdHolder("h1", GRID, "r1"), IdHolder("h3", OTHER_GRID, "r3"))
    assert ((len(SqliteDialect.migrations),), expected) == (tuple(version or ()), found)


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_a_server_database_at_schema_10_gets_its_digests_on_upgrade(
    dialect: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """PostgreSQL and MariaDB run the same step: their residents are found after the upgrade."""

    def open_at(id_key: IdKey | None = None) -> _sql.PooledSqlStore:
        if dialect == "mysql":
            from gridgov.adapters.mysql import MysqlStore

            return MysqlStore(request.getfixturevalue("mysql_database"), id_key=id_key)
        from gridgov.adapters.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_schema"), id_key=id_key)

    with monkeypatch.context() as patch:
        if dialect == "mysql":
            from gridgov.adapters import _ddl

            patch.setattr(
                "gridgov.adapters.mysql.declared_migrations",
                lambda types: _ddl.declared_migrations(types)[:10],
            )
        else:
            from gridgov.adapters.postgres import PostgresDialect

            patch.setattr(PostgresDialect, "migrations", PostgresDialect.migrations[:10])
        without_id_digests(patch)
        _fill(open_at()).close()
    store = open_at(KEY)
    with store() as uow:
        found = find_person(uow, ID_1, KEY)
    store.close()
    assert (IdHolder("h1", GRID, "r1"), IdHolder("h3", OTHER_GRID, "r3")) == found


def test_without_a_key_the_digests_stay_null_until_rehash(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """Upgraded without a key, nobody is found; ``rehash_ids`` fills all three residents."""
    path = tmp_path / "v10.db"
    _schema_10(path, monkeypatch, without_id_digests)
    store = SqliteStore(path)
    with store() as uow:
        nulls = uow.query_one("SELECT COUNT(*) FROM gg_residents WHERE id_digest IS NULL")
    written = rehash_ids(store, KEY)
    with store() as uow:
        found = find_person(uow, ID_1, KEY)
    store.close()
    assert ((3,), 3, 2) == (tuple(nulls or ()), written, len(found))


def test_a_store_opened_with_another_key_is_refused_until_rehashed(tmp_path: Path) -> None:
    """Digests made under one key: opening with another is a ConflictError naming no secret.

    After ``rehash_ids`` under the new key (the store opened with the old one), it opens and
    finds the residents again.
    """
    path = tmp_path / "keyed.db"
    _fill(SqliteStore(path, id_key=KEY)).close()
    other = IdKey(b"o" * 32)
    with pytest.raises(ConflictError) as info:
        SqliteStore(path, id_key=other)
    old = SqliteStore(path, id_key=KEY)
    rehash_ids(old, other)
    old.close()
    store = SqliteStore(path, id_key=other)
    with store() as uow:
        found = find_person(uow, ID_1, other)
    store.close()
    message = str(info.value)
    assert (True, False, 2) == ("rehash_ids" in message, "o" * 32 in message, len(found))


def test_finding_without_a_key_says_so() -> None:
    """No key configured: ``id_key`` is named, the number is not."""
    store = _fill(open_store("memory://"))
    with store() as uow, pytest.raises(ValidationError) as info:
        find_person(uow, ID_1, None)
    assert ("id_key", False) == (info.value.path, ID_1 in str(info.value))


def test_open_store_refuses_a_key_given_as_text() -> None:
    """The key is an IdKey, read with ``IdKey.from_text``; a string is refused naming it."""
    with pytest.raises(ValidationError) as info:
        open_store("memory://", id_key="ab" * 32)  # type: ignore[arg-type]
    assert "id_key" == info.value.path


# -- matching lists -----------------------------------------------------------------------


def test_a_list_is_matched_line_by_line_without_numbers_in_the_result(store: Store) -> None:
    """Found, not found and not a number, by line; the result holds ids and cells only."""
    listed = [ID_2.translate(FULLWIDTH), _id("19600101", 33), "12345", ID_1]
    with store() as uow:
        matches = match_list(uow, listed, KEY)
    expected = ListMatches(
        matched=(
            ListMatch(0, (IdHolder("h2", GRID, "r2"),)),
            ListMatch(3, (IdHolder("h1", GRID, "r1"), IdHolder("h3", OTHER_GRID, "r3"))),
        ),
        unmatched=(1,),
        invalid=((2, "an ID number has 18 characters, not 5"),),
    )
    assert (expected, False) == (matches, any(n in repr(matches) for n in (ID_1, ID_2)))


# -- discharges -----------------------------------------------------------------------------


def _hospitalised(store: Store, resident_id: str, at: pendulum.DateTime) -> None:
    with store() as uow:
        record_contact(
            uow,
            resident_id=resident_id,
            method=ContactMethod.PHONE,
            outcome=Outcome.HOSPITALISED,
            by="w1",
            at=at,
            now=at,
        )
        uow.commit()


def test_a_discharge_list_ends_the_hospital_pause_once(store: Store) -> None:
    """r1 in hospital gets a notice and routine tasks; r2 was never in; a second run: nothing."""
    _hospitalised(store, "r1", NOW.subtract(days=10))
    listed = [
        Discharge(ID_1.lower(), NOW.subtract(days=2)),
        Discharge(ID_2, NOW.subtract(days=2)),
        Discharge(ID_2, NOW.add(days=1)),
    ]
    with store() as uow:
        first = record_discharges(uow, listed[:2], KEY, by="w1", now=NOW)
        uow.commit()
    with store() as uow:
        again = record_discharges(uow, listed, KEY, by="w1", now=NOW)
        uow.commit()
        contacts = uow.contacts.for_resident("r1").items
        tasks = uow.care_tasks.open_for_resident("r1")
    notice = [(c.method, c.outcome) for c in contacts if c.outcome is Outcome.DISCHARGED]
    routine = sorted(t.method.value for t in tasks if t.kind is TaskKind.ROUTINE)
    held = (IdHolder("h1", GRID, "r1"), IdHolder("h3", OTHER_GRID, "r3"))
    assert (
        (held[:1], (held[1], IdHolder("h2", GRID, "r2"))),
        ((), (*held, IdHolder("h2", GRID, "r2")), ((2, "a discharge in the future"),)),
        [(ContactMethod.NOTICE, Outcome.DISCHARGED)],
        True,
    ) == (
        (first.resumed, first.not_paused),
        (again.resumed, again.not_paused, again.invalid),
        notice,
        bool(routine) and first.created == len(routine),
    )


def test_a_notice_is_no_contact() -> None:
    """A notice satisfies no cadence, and no tier may ask for one."""
    with pytest.raises(ValidationError) as info:
        Tier("t", "t", "t", AgeAtLeast(80), (Cadence(ContactMethod.NOTICE, 30),))
    satisfied = [m for m in ContactMethod if ContactMethod.NOTICE.satisfies(m)]
    visits = ContactMethod.HOME_VISIT.satisfies(ContactMethod.NOTICE)
    assert ("cadences[0].method", [], False) == (info.value.path, satisfied, visits)


def test_a_discharge_never_shows_its_number() -> None:
    """A discharge line's repr has its instant only."""
    assert ID_1 not in repr(Discharge(ID_1, NOW))


# -- remembered requests -----------------------------------------------------------------------


def test_names_in_a_remembered_result_are_masked() -> None:
    """A remembered household read masked: its name, ID, phone, room masked; its cell kept."""
    household = attrs.evolve(
        _households()[0],
        address=Address("铁一村1号楼", room="301"),
        members=(attrs.evolve(_elder("r1", ID_1), name="欧阳秀兰", phone="13912340001"),),
    )
    from gridgov import serialization

    request = RememberedRequest(
        "k1", "svc", "f" * 64, serialization.dumps(household), NOW, NOW.add(days=1)
    )
    shown = redact(request).result
    leaked = [v for v in ("欧阳秀兰", ID_1, "13912340001", "301") if v in shown]
    assert ([], True) == (leaked, GRID in shown)


def test_erasure_forgets_the_remembered_requests_about_the_person(store: Store) -> None:
    """A contact recorded under an idempotency key is remembered; erasing r1 forgets it only."""
    with store() as uow:
        for rid, key in (("r1", "key-1"), ("r2", "key-2")):
            record_contact(
                uow,
                resident_id=rid,
                method=ContactMethod.PHONE,
                outcome=Outcome.WELL,
                by="w1",
                at=NOW,
                now=NOW,
                idempotency_key=key,
            )
        uow.commit()
    with store() as uow:
        erased = erase_person(uow, "r1")
        uow.commit()
    with store() as uow:
        kept = [r.id for r in uow.requests.list().items]
        again = erase_person(uow, "r1")
    assert ((1, ["key-2"]), 0) == ((erased.requests, kept), again.changed)


def test_the_command_fills_rotates_and_clears_the_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gridgov rehash-ids``: filled under a first key, rotated with the previous one, cleared.

    Without the key it refuses, naming the variable; the key is never printed.
    """
    from gridgov.cli import main

    url = f"sqlite:///{tmp_path / 'cmd.db'}"
    _fill(open_store(url)).close()  # stored before any key: no digests
    other = IdKey(b"o" * 32)
    monkeypatch.delenv(ID_KEY_VARIABLE, raising=False)
    refused = main(["rehash-ids", "--db", url])
    monkeypatch.setenv(ID_KEY_VARIABLE, (b"k" * 32).hex())
    filled = main(["rehash-ids", "--db", url, "--json"])
    monkeypatch.setenv(ID_KEY_VARIABLE, (b"o" * 32).hex())
    monkeypatch.setenv("GRIDGOV_PREVIOUS_ID_KEY", (b"k" * 32).hex())
    rotated = main(["rehash-ids", "--db", url, "--json"])
    store = open_store(url, id_key=other)
    with store() as uow:
        found = len(find_person(uow, ID_1, other))
    store.close()
    monkeypatch.delenv("GRIDGOV_PREVIOUS_ID_KEY")
    cleared = main(["rehash-ids", "--db", url, "--clear", "--json"])
    out = capsys.readouterr()
    reports, text, decoder = [], out.out.strip(), json.JSONDecoder()
    while text:  # the three --json documents, one after another
        report, end = decoder.raw_decode(text)
        reports.append(report)
        text = text[end:].strip()
    assert (
        (2, 0, 0, 0),
        [
            {"residents": 3, "key": KEY.fingerprint},
            {"residents": 3, "key": other.fingerprint},
            {"residents": 3, "key": None},
        ],
        2,
        False,
    ) == (
        (refused, filled, rotated, cleared),
        reports,
        found,
        (b"o" * 32).hex() in out.out + out.err,
    )
