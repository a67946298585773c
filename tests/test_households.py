"""Tests for gridgov.households: the ledger of households, residents, tags and ages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.codes import NationalId, PhoneNumber, Sex, id_check_character
from gridgov.errors import NotFoundError, ValidationError
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
    age_on,
)

KNOWN_ID = "11010519491231002X"  # GB 11643 example: female, born 1949-12-31
ELDER_ID = "61010219530315011" + id_check_character("61010219530315011")  # Xincheng, male
PHONE = "13912345678"
SON_PHONE = "13587654321"
GRID_1 = "610102001001001"
# Characters for generated names; none of them appears in any repr's fixed text.
NAME_CHARS = "王李张刘陈杨黄赵吴周田林芳伟娜敏静秀英华"


def raises_at(path: str, call: Callable[[], object], *secrets: str) -> ValidationError:
    """Check ``call`` raises a ValidationError at ``path`` whose text holds none of ``secrets``."""
    with pytest.raises(ValidationError) as info:
        call()
    err = info.value
    assert path == err.path
    for secret in secrets:
        assert secret not in str(err)
        assert all(secret not in p for _, p in err.problems)
    return err


def day(y: int, m: int, d: int) -> pendulum.Date:
    """Return a pendulum Date."""
    return pendulum.Date(y, m, d)


def elder(**changes: object) -> Resident:
    """Return a 71-year-old (in 2024) man living alone, with ``changes`` applied."""
    fields: dict[str, object] = {
        "id": "r-001",
        "name": "田林",
        "national_id": NationalId(ELDER_ID),
        "phone": PHONE,
        "tags": [Tag.LIVING_ALONE],
        "living_arrangement": LivingArrangement.ALONE,
    }
    fields.update(changes)
    return Resident(**fields)  # type: ignore[arg-type]


def home(**changes: object) -> Household:
    """Return a resident household in grid 1 with the elder as its member."""
    fields: dict[str, object] = {
        "id": "hh-001",
        "cell_code": GRID_1,
        "address": Address("铁一村3号楼", unit="2", room="301"),
        "members": [elder()],
    }
    fields.update(changes)
    return Household(**fields)  # type: ignore[arg-type]


@pytest.fixture
def son() -> EmergencyContact:
    """Return the elder's son as an emergency contact."""
    return EmergencyContact("田小明", SON_PHONE, relationship="儿子")


# --- vocabularies -------------------------------------------------------------------------


def test_key_population_tags() -> None:
    """The built-in tags include the national guidance's populations with Chinese labels."""
    builtins = Tag.builtins()
    for tag in (Tag.LIVING_ALONE, Tag.EMPTY_NEST, Tag.LEFT_BEHIND, Tag.ADVANCED_AGE):
        assert tag in builtins
    assert "高龄" == Tag.ADVANCED_AGE.label_zh
    assert "living alone" == Tag.LIVING_ALONE.label_en
    assert Tag.LIVING_ALONE == builtins[0]


def test_platform_tags_are_accepted() -> None:
    """A platform may add its own well-formed tag."""
    tag = Tag("flood_zone")
    assert not tag.is_builtin
    assert "flood_zone" == tag.label_zh


def test_tag_and_health_flag_are_distinct_vocabularies() -> None:
    """The dementia tag and the dementia health flag are different values."""
    flag: object = HealthFlag.DEMENTIA
    assert Tag.DEMENTIA != flag
    assert Tag.LIVING_ALONE.code not in {f.code for f in HealthFlag.builtins()}


def test_enum_labels() -> None:
    """Living arrangements and household statuses have Chinese labels."""
    assert "独居" == LivingArrangement.ALONE.label_zh
    assert all(arr.label_zh for arr in LivingArrangement)
    assert "拆迁外迁" == HouseholdStatus.RELOCATED.label_zh
    assert all(s.label_zh for s in HouseholdStatus)


# --- age_on -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (day(1953, 3, 15), day(2024, 3, 14), 70),
        (day(1953, 3, 15), day(2024, 3, 15), 71),
        (day(1953, 3, 15), day(1953, 3, 15), 0),
        (day(2000, 2, 29), day(2001, 2, 28), 0),
        (day(2000, 2, 29), day(2001, 3, 1), 1),
        (day(2000, 2, 29), day(2004, 2, 28), 3),
        (day(2000, 2, 29), day(2004, 2, 29), 4),
        (day(1949, 12, 31), day(2029, 12, 30), 79),
        (day(1949, 12, 31), day(2029, 12, 31), 80),
    ],
)
def test_age_on_examples(birth: pendulum.Date, on: pendulum.Date, expected: int) -> None:
    """Age counts whole years; a 29 February birthday falls on 1 March in common years."""
    assert expected == age_on(birth, on)


dates = st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2100, 12, 31)).map(
    lambda d: pendulum.Date(d.year, d.month, d.day)
)


def birthday_in(birth: pendulum.Date, year: int) -> pendulum.Date:
    """Return the day someone born on ``birth`` turns a year older in ``year``."""
    if (birth.month, birth.day) == (2, 29) and not pendulum.Date(year, 1, 1).is_leap_year():
        return day(year, 3, 1)
    return day(year, birth.month, birth.day)


@given(dates, st.integers(1, 120))
def test_age_rises_by_one_on_each_birthday(birth: pendulum.Date, years: int) -> None:
    """On each birthday the age rises by exactly one from the day before."""
    birthday = birthday_in(birth, birth.year + years)
    assert years == age_on(birth, birthday)
    assert years - 1 == age_on(birth, birthday.subtract(days=1))


@given(st.integers(1880, 2096), st.integers(1, 120))
def test_leap_day_births(year: int, years: int) -> None:
    """Someone born on 29 February is a year older from 1 March of common years."""
    leap = next(y for y in range(year, year + 8) if pendulum.Date(y, 1, 1).is_leap_year())
    birth = day(leap, 2, 29)
    target = leap + years
    assert years - 1 == age_on(birth, day(target, 2, 28))
    assert years == age_on(birth, day(target, 3, 1))


@given(dates, dates)
def test_age_never_decreases(a: pendulum.Date, b: pendulum.Date) -> None:
    """Age is non-decreasing in the day and zero on the birth date."""
    birth, later = min(a, b), max(a, b)
    assert 0 == age_on(birth, birth)
    assert age_on(birth, birth) <= age_on(birth, later)
    assert later.year - birth.year - 1 <= age_on(birth, later) <= later.year - birth.year


# --- EmergencyContact, ForwardingContact, Address -----------------------------------------


def test_emergency_contact_parses_phone(son: EmergencyContact) -> None:
    """A phone given as a string is parsed into a PhoneNumber."""
    assert PhoneNumber(SON_PHONE) == son.phone
    assert PhoneNumber("13587654321") == EmergencyContact("田小明", "+86 135 8765 4321").phone


def test_emergency_contact_repr_is_masked(son: EmergencyContact) -> None:
    """The repr shows neither the contact's full name nor the full phone."""
    for text in (repr(son), str(son)):
        assert "田小明" not in text
        assert SON_PHONE not in text
    assert (
        "EmergencyContact(name='田**', phone=PhoneNumber('135****4321'), relationship='儿子')"
        == repr(son)
    )


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"name": ""}, "name"),
        ({"name": "田" * 51}, "name"),
        ({"phone": 13587654321}, "phone"),
        ({"phone": None}, "phone"),
        ({"relationship": "子" * 31}, "relationship"),
    ],
)
def test_emergency_contact_rejects(kwargs: dict[str, object], path: str) -> None:
    """Malformed contact fields are rejected with their name."""
    fields: dict[str, object] = {"name": "田小明", "phone": SON_PHONE}
    fields.update(kwargs)
    raises_at(path, lambda: EmergencyContact(**fields), "田小明")  # type: ignore[arg-type]


def test_forwarding_contact_repr_is_masked() -> None:
    """The repr of a forwarding contact hides most of the address, the phone and the note."""
    fwd = ForwardingContact("未央区凤城八路12号", phone=SON_PHONE, note="儿子田小明代办")
    text = repr(fwd)
    assert "未央区凤城八路12号" not in text
    assert SON_PHONE not in text
    assert "田小明" not in text
    assert "ForwardingContact(address='未央区*******', phone=PhoneNumber('135****4321'))" == text
    assert PhoneNumber(SON_PHONE) == fwd.phone


def test_forwarding_contact_phone_is_optional() -> None:
    """A forwarding contact may have no phone."""
    assert ForwardingContact("未央区").phone is None


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [({"address": ""}, "address"), ({"note": "x" * 501}, "note"), ({"phone": 5}, "phone")],
)
def test_forwarding_contact_rejects(kwargs: dict[str, object], path: str) -> None:
    """Malformed forwarding fields are rejected with their name."""
    fields: dict[str, object] = {"address": "未央区凤城八路12号"}
    fields.update(kwargs)
    raises_at(path, lambda: ForwardingContact(**fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        lambda: EmergencyContact("田小明", "12345"),
        lambda: ForwardingContact("未央区", phone="12345"),
        lambda: Resident("r-1", "田林", phone="12345"),
    ],
    ids=["emergency_contact", "forwarding_contact", "resident"],
)
def test_bad_phone_string_is_reported_at_phone(build: Callable[[], object]) -> None:
    """An unparsable phone string is rejected at ``phone`` without echoing it."""
    raises_at("phone", build, "12345")


def test_bad_phone_string_is_a_validation_error_without_echo() -> None:
    """An unparsable phone string raises ValidationError that does not repeat the number."""
    with pytest.raises(ValidationError) as info:
        EmergencyContact("田小明", "1358765432")
    assert "1358765432" not in str(info.value)


def test_address_str_and_repr() -> None:
    """str() writes the full address with unit and room; repr() masks it."""
    addr = Address("铁一村3号楼", unit="2", room="301")
    assert "铁一村3号楼 2单元 301室" == str(addr)
    assert "铁一村3号楼" == str(Address("铁一村3号楼"))
    assert "Address('铁一村***')" == repr(addr)
    assert "铁一村3号楼" not in repr(addr)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"line": ""}, "line"),
        ({"line": "x" * 201}, "line"),
        ({"unit": ""}, "unit"),
        ({"room": " 301"}, "room"),
        ({"room": 301}, "room"),
    ],
)
def test_address_rejects(kwargs: dict[str, object], path: str) -> None:
    """Malformed address parts are rejected with their name."""
    fields: dict[str, object] = {"line": "铁一村3号楼"}
    fields.update(kwargs)
    raises_at(path, lambda: Address(**fields))  # type: ignore[arg-type]


# --- Resident -----------------------------------------------------------------------------


def test_resident_derives_birth_date_and_sex_from_id() -> None:
    """Without explicit values, birth date and sex come from the national ID."""
    r = elder()
    assert day(1953, 3, 15) == r.birth_date
    assert Sex.MALE == r.sex
    assert PhoneNumber(PHONE) == r.phone
    assert frozenset({Tag.LIVING_ALONE}) == r.tags


def test_resident_accepts_matching_explicit_values() -> None:
    """Explicit birth date and sex equal to the ID's are accepted."""
    r = elder(birth_date=day(1953, 3, 15), sex=Sex.MALE)
    assert day(1953, 3, 15) == r.birth_date


def test_resident_without_id() -> None:
    """A resident without an ID has no birth date, sex or age unless given."""
    r = Resident("r-2", "李秀英")
    assert r.birth_date is None
    assert r.sex is None
    assert r.age_on(day(2024, 1, 1)) is None
    assert 80 == Resident("r-3", "李秀英", birth_date=day(1944, 1, 1)).age_on(day(2024, 1, 1))


def test_resident_age_on() -> None:
    """A resident's age follows the birth date in the ID."""
    r = elder()
    assert 70 == r.age_on(day(2024, 3, 14))
    assert 71 == r.age_on(day(2024, 3, 15))


def test_resident_has_tag() -> None:
    """has_tag() tells whether the resident carries a tag."""
    r = elder()
    assert r.has_tag(Tag.LIVING_ALONE)
    assert not r.has_tag(Tag.EMPTY_NEST)


def test_resident_keeps_contacts_and_flags(son: EmergencyContact) -> None:
    """Emergency contacts keep their order; health flags become a frozenset."""
    daughter = EmergencyContact("田小红", "13600001111", relationship="女儿")
    r = elder(
        emergency_contacts=[son, daughter],
        health_flags=[HealthFlag.HEART_DISEASE, HealthFlag.HEART_DISEASE],
    )
    assert (son, daughter) == r.emergency_contacts
    assert frozenset({HealthFlag.HEART_DISEASE}) == r.health_flags


def test_birth_date_contradicting_id_is_rejected() -> None:
    """A birth date other than the ID's raises at ``birth_date`` without ID or name."""
    raises_at(
        "birth_date", lambda: elder(birth_date=day(1953, 3, 16)), ELDER_ID, "田林", "19530315"
    )


def test_birth_date_none_with_id_is_rejected() -> None:
    """An explicit None birth date contradicts a national ID."""
    raises_at("birth_date", lambda: elder(birth_date=None), ELDER_ID)


def test_sex_contradicting_id_is_rejected() -> None:
    """A sex other than the ID's raises at ``sex`` without the ID."""
    raises_at("sex", lambda: elder(sex=Sex.FEMALE), ELDER_ID, "田林")


def test_birth_before_1880_is_rejected() -> None:
    """A birth date before 1880 is rejected at ``birth_date``."""
    raises_at("birth_date", lambda: Resident("r-2", "李秀英", birth_date=day(1879, 12, 31)))


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"id": ""}, "id"),
        ({"id": "r 1"}, "id"),
        ({"name": ""}, "name"),
        ({"name": " 田林"}, "name"),
        ({"name": "田" * 51}, "name"),
        ({"national_id": None, "birth_date": dt.date(1953, 3, 15)}, "birth_date"),
        ({"national_id": None, "birth_date": pendulum.datetime(1953, 3, 15)}, "birth_date"),
        ({"national_id": None, "sex": "male"}, "sex"),
        ({"phone": 13912345678}, "phone"),
        ({"tags": ["living_alone"]}, "tags[0]"),
        ({"tags": "living_alone"}, "tags"),
        ({"health_flags": [Tag.DEMENTIA]}, "health_flags[0]"),
        ({"living_arrangement": "alone"}, "living_arrangement"),
        ({"emergency_contacts": ["田小明"]}, "emergency_contacts[0]"),
        ({"relationship": "户" * 31}, "relationship"),
    ],
)
def test_resident_rejects(kwargs: dict[str, object], path: str) -> None:
    """Malformed resident fields are rejected with their name and no personal data."""
    raises_at(path, lambda: elder(**kwargs), ELDER_ID, PHONE, "田林", "田小明")


def test_national_id_as_string_is_parsed() -> None:
    """A national ID given as a string is parsed, and a bad one is rejected at ``national_id``."""
    assert NationalId(ELDER_ID) == Resident("r-1", "田林", national_id=ELDER_ID).national_id
    bad = ELDER_ID[:-1] + ("0" if ELDER_ID[-1] != "0" else "1")
    raises_at("national_id", lambda: Resident("r-1", "田林", national_id=bad), bad)


@given(st.text(NAME_CHARS, min_size=2, max_size=8))
def test_resident_repr_hides_personal_data(name: str) -> None:
    """A resident's repr and str show neither the full name, the full ID nor the full phone."""
    r = elder(name=name)
    for text in (repr(r), str(r)):
        assert name not in text
        assert ELDER_ID not in text
        assert PHONE not in text
    assert name[0] + "*" * (len(name) - 1) in repr(r)


def test_resident_repr_shape() -> None:
    """The repr lists id, masked name, masked ID and phone and the sorted tag codes."""
    r = Resident("r-9", "Tian Lin", NationalId(KNOWN_ID), tags=[Tag.EMPTY_NEST, Tag.ADVANCED_AGE])
    expected = (
        "Resident(id='r-9', name='T*******', national_id=NationalId('110105**********2X'), "
        "phone=None, tags=['advanced_age', 'empty_nest'])"
    )
    assert expected == repr(r)


# --- Household ----------------------------------------------------------------------------


def test_household_defaults_and_member_lookup() -> None:
    """A household defaults to resident status and finds members by id."""
    hh = home()
    assert HouseholdStatus.RESIDENT == hh.status
    assert 0 == hh.version
    assert "田林" == hh.member("r-001").name
    assert isinstance(hh.members, tuple)


def test_household_member_unknown_raises_not_found() -> None:
    """member() of an unknown id raises NotFoundError."""
    with pytest.raises(NotFoundError) as info:
        home().member("r-404")
    assert "r-404" == info.value.key


def test_with_member_adds_and_replaces() -> None:
    """with_member() appends a new resident and replaces one with the same id in place."""
    spouse = Resident("r-002", "李秀英", relationship="配偶")
    hh = home().with_member(spouse)
    assert ["r-001", "r-002"] == [m.id for m in hh.members]
    renamed = attrs.evolve(elder(), tags=[Tag.EMPTY_NEST])
    replaced = hh.with_member(renamed)
    assert ["r-001", "r-002"] == [m.id for m in replaced.members]
    assert frozenset({Tag.EMPTY_NEST}) == replaced.member("r-001").tags
    assert frozenset({Tag.LIVING_ALONE}) == home().member("r-001").tags


def test_without_member() -> None:
    """without_member() drops the member; an unknown id raises NotFoundError."""
    assert () == home().without_member("r-001").members
    with pytest.raises(NotFoundError):
        home().without_member("r-404")


def test_relocate() -> None:
    """relocate() marks the household relocated with its forwarding contact."""
    fwd = ForwardingContact("未央区凤城八路12号", phone=SON_PHONE)
    moved = home().relocate(fwd)
    assert HouseholdStatus.RELOCATED == moved.status
    assert fwd == moved.forwarding
    assert home().members == moved.members


def test_vacant_household_without_members() -> None:
    """A vacant household with no members is valid."""
    assert HouseholdStatus.VACANT == home(status=HouseholdStatus.VACANT, members=[]).status


def test_duplicate_resident_ids_are_rejected() -> None:
    """Two members with the same id are rejected at the second one's id."""
    twin = Resident("r-001", "田森")
    raises_at("members[1].id", lambda: home(members=[elder(), twin]), "田林", "田森")


def test_relocated_household_needs_forwarding() -> None:
    """A relocated household without forwarding contact is rejected at ``forwarding``."""
    raises_at("forwarding", lambda: home(status=HouseholdStatus.RELOCATED))


def test_vacant_household_with_members_is_rejected() -> None:
    """A vacant household with members is rejected at ``members``."""
    raises_at("members", lambda: home(status=HouseholdStatus.VACANT), "田林")


def test_with_member_keeps_validation() -> None:
    """Adding a member to a vacant household is rejected."""
    vacant = home(status=HouseholdStatus.VACANT, members=[])
    raises_at("members", lambda: vacant.with_member(elder()))


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"id": ""}, "id"),
        ({"cell_code": ""}, "cell_code"),
        ({"address": "铁一村3号楼"}, "address"),
        ({"status": "resident"}, "status"),
        ({"members": ["田林"]}, "members[0]"),
        ({"members": "r-001"}, "members"),
        ({"forwarding": "未央区"}, "forwarding"),
        ({"version": -1}, "version"),
    ],
)
def test_household_rejects(kwargs: dict[str, object], path: str) -> None:
    """Malformed household fields are rejected with their name and no personal data."""
    raises_at(path, lambda: home(**kwargs), "田林", "铁一村3号楼")


@given(st.text(NAME_CHARS, min_size=2, max_size=8))
def test_household_repr_hides_personal_data(name: str) -> None:
    """A household's repr shows neither member names, IDs, phones nor the full address."""
    hh = home(members=[elder(name=name)])
    for text in (repr(hh), str(hh)):
        assert name not in text
        assert ELDER_ID not in text
        assert PHONE not in text
        assert "铁一村3号楼" not in text
    expected = (
        "Household(id='hh-001', cell_code='610102001001001', address=Address('铁一村***'), "
        "status='resident', members=1, version=0)"
    )
    assert expected == repr(hh)
