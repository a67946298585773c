"""A deterministic synthetic population of households for examples, tests and benchmarks.

The population looks like an old urban community in Xi'an. Everything is drawn from one
``random.Random(seed)``: the same arguments give the same households on every platform. Names are
made up from common surnames and given-name characters (no real person is meant); ID numbers have
real county address codes, the resident's birth date, a sequence whose parity matches the sex and
a valid check character; phone numbers are random mobile numbers.

The shape follows what community ledgers report: one- and two-person households are common, about
a quarter to a third of residents are 60 or older, many elders live alone or as empty-nest couples,
and health conditions become more frequent with age.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from itertools import accumulate
from typing import Generic, TypeVar

import attrs
import pendulum
from attrs import AttrsInstance

from gridgov.clock import ensure_date
from gridgov.codes import DivisionCode, NationalId, PhoneNumber, Sex, id_check_character
from gridgov.errors import ValidationError
from gridgov.grid import GridCell, GridLevel
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

__all__ = ["generate_households", "relocate"]

T = TypeVar("T")
A = TypeVar("A", bound=AttrsInstance)


class _Builder(Generic[A]):
    """Builds a frozen attrs record from positional values, skipping its validators.

    Validation parses a resident's ID number three times; generated values are valid by
    construction (the tests re-validate every field), and skipping that makes bulk generation
    several times faster. The field names are checked against the class on first use, so a field
    added later fails loudly instead of being left unset.
    """

    def __init__(self, cls: type[A], names: str) -> None:
        self._cls = cls
        self._names = tuple(names.split())
        self._setters: tuple[Callable[[A, object], None], ...] | None = None

    def _resolve(self) -> tuple[Callable[[A, object], None], ...]:
        expected = {f.name for f in attrs.fields(self._cls)}
        if set(self._names) != expected:
            raise RuntimeError(f"the synthetic {self._cls.__name__} builder is out of date")
        # attrs classes are slotted: the slot descriptors set a field without __setattr__.
        self._setters = tuple(vars(self._cls)[n].__set__ for n in self._names)
        return self._setters

    def __call__(self, *values: object) -> A:
        setters = self._setters or self._resolve()
        obj = object.__new__(self._cls)
        for set_field, value in zip(setters, values, strict=True):
            set_field(obj, value)
        return obj


_resident = _Builder(
    Resident,
    "id name national_id birth_date sex phone tags living_arrangement health_flags "
    "emergency_contacts relationship",
)
_household = _Builder(Household, "id cell_code address status members forwarding version")
_address = _Builder(Address, "line unit room")
_contact = _Builder(EmergencyContact, "name phone relationship")
_forwarding = _Builder(ForwardingContact, "address phone note")


def _national_id(value: str) -> NationalId:
    number = object.__new__(NationalId)
    object.__setattr__(number, "value", value)
    return number


def _phone_number(value: str) -> PhoneNumber:
    phone = object.__new__(PhoneNumber)
    object.__setattr__(phone, "value", value)
    return phone


# --- vocabularies -----------------------------------------------------------------------------

# Common surnames, the most frequent first; weights fall off with rank.
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马胡朱郭何高罗郑梁谢宋唐韩冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
    "薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易"
)
_SURNAME_CUM = tuple(accumulate(max(1.0, 60.0 / (i + 2)) for i in range(len(_SURNAMES))))
# Given-name characters by sex, for people born before and after about 1975. The pools avoid
# the characters of the real people named in the Minggong article, so no name can be theirs.
_GIVEN = (
    (
        "欣怡思雨婷佳悦琪涵萱雪丽静颖娜晶璐瑶倩蕾彤妍诗梦",
        "秀英兰芳珍桂玉凤淑琴华梅霞丽萍红云敏翠芬娟香素荣洁",
    ),
    (
        "浩宇轩博子俊杰鹏磊涛昊晨泽睿鑫超斌阳航文凯宁飞然毅辰皓",
        "建国军明华志伟平忠德福文学强荣生海成兴民庆宝春永胜利新卫东光全贵",
    ),
)  # [is male][is older]
_MOBILE_PREFIXES = tuple(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "  # noqa: SIM905
    "177 180 181 182 183 185 186 187 188 189 199".split()
)
# Other county-level address codes (GB/T 2260) for residents first registered elsewhere.
_OTHER_ADDRESS_CODES = (
    "610103",  # 碑林区
    "610104",  # 莲湖区
    "610111",  # 灞桥区
    "610112",  # 未央区
    "610402",  # 咸阳 秦都区
    "610502",  # 渭南 临渭区
    "410302",  # 洛阳 老城区
    "140105",  # 太原 小店区
    "620102",  # 兰州 城关区
)
_RESETTLEMENT = (
    "未央区凤城九路安置小区",
    "灞桥区纺织城安置小区",
    "新城区幸福林带安置房",
    "未央区大明宫北安置小区",
)


def _ages(bands: Sequence[tuple[int, int, float]]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Expand ``(first, last, weight)`` age bands into ages and cumulative weights."""
    ages = [a for first, last, _ in bands for a in range(first, last + 1)]
    weights = [w / (last - first + 1) for first, last, w in bands for _ in range(first, last + 1)]
    return tuple(ages), tuple(accumulate(weights))


# Elders by five-year band: 60-64 as many as 65-69, then fewer with each band.
_ELDER_AGES, _ELDER_CUM = _ages(
    (
        (60, 64, 7),
        (65, 69, 7),
        (70, 74, 6),
        (75, 79, 4.5),
        (80, 84, 3),
        (85, 89, 1.8),
        (90, 94, 0.7),
        (95, 99, 0.2),
    )
)
# Working-age heads of household.
_ADULT_AGES, _ADULT_CUM = _ages(
    (
        (22, 24, 1.5),
        (25, 29, 5.5),
        (30, 34, 7.5),
        (35, 39, 7.5),
        (40, 44, 6.5),
        (45, 49, 6.5),
        (50, 54, 7.5),
        (55, 59, 6.0),
    )
)
_SIZE_CUM = tuple(accumulate((26, 34, 22, 12, 6)))  # household sizes 1-5

# Health flags with their prevalence at ages 45-59, 60-69, 70-79 and 80+.
_HEALTH = (
    (HealthFlag.SEVERE_HYPERTENSION, (0.02, 0.06, 0.10, 0.14)),
    (HealthFlag.HEART_DISEASE, (0.02, 0.06, 0.10, 0.15)),
    (HealthFlag.DIABETES, (0.06, 0.12, 0.15, 0.15)),
    (HealthFlag.STROKE_HISTORY, (0.0, 0.02, 0.04, 0.07)),
    (HealthFlag.LIMITED_MOBILITY, (0.0, 0.02, 0.06, 0.18)),
    (HealthFlag.CHRONIC_ILLNESS, (0.03, 0.15, 0.18, 0.22)),
)

_ELDER = 60
_HEAD, _SPOUSE = "户主", "配偶"
# Indexed by "is male": looking an enum up in a dict calls its Python-level __hash__.
_MALE = Sex.MALE
_CHILD = ("女儿", "儿子")
_GRANDCHILD = ("孙女", "孙子")
_IN_LAW = ("儿媳", "女婿")
_OTHER = (Sex.MALE, Sex.FEMALE)

# The resident ID check character is the weighted digit sum mod 11 mapped through this table
# (GB 11643). The sum is linear in the digits, so the sums of an ID's parts are computed once
# with id_check_character and added up.
_CHECK = "10X98765432"


def _partial_sum(body: str) -> int:
    return _CHECK.index(id_check_character(body))


_SEQUENCE_SUMS = tuple(_partial_sum(f"{'0' * 14}{s:03d}") for s in range(1000))
_MONTH_SUMS = tuple(_partial_sum(f"{'0' * 10}{m:02d}{'0' * 5}") for m in range(13))
_DAY_SUMS = tuple(_partial_sum(f"{'0' * 12}{d:02d}000") for d in range(32))


class _Person:
    """A household member being drawn, before it becomes a :class:`Resident`."""

    __slots__ = ("age", "relationship", "sex", "surname")

    def __init__(self, relationship: str, age: int, sex: Sex, surname: str) -> None:
        self.relationship = relationship
        self.age = age
        self.sex = sex
        self.surname = surname


class _Drawer:
    """Draws people and households from one random stream.

    Only ``random()`` is called: it is the fastest draw and gives the same stream everywhere.
    """

    def __init__(self, rng: random.Random, as_of: pendulum.Date, address_code: str) -> None:
        self.rand = rng.random
        self.address_code = address_code
        self.address_sums = {
            code: _partial_sum(code + "0" * 11) for code in (address_code, *_OTHER_ADDRESS_CODES)
        }
        self.used_ids: set[str] = set()
        # For each age, the first and last birth ordinal giving exactly that age on as_of.
        self.birth_range: list[tuple[int, int]] = []
        for age in range(106):
            latest = _same_day(as_of, as_of.year - age)
            earliest = _same_day(as_of, as_of.year - age - 1) + dt.timedelta(days=1)
            self.birth_range.append((earliest.toordinal(), latest.toordinal()))
        self.births: dict[int, tuple[pendulum.Date, str, int]] = {}
        self.year_sums: dict[int, int] = {}

    # -- primitives ------------------------------------------------------------------------

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.rand() * len(items))]

    def weighted(self, items: Sequence[T], cum: Sequence[float]) -> T:
        return items[bisect_right(cum, self.rand() * cum[-1])]

    def between(self, low: int, high: int) -> int:
        return low + int(self.rand() * (high - low + 1))

    def sex(self) -> Sex:
        return Sex.MALE if self.rand() < 0.5 else Sex.FEMALE

    def surname(self) -> str:
        return self.weighted(_SURNAMES, _SURNAME_CUM)

    def given(self, sex: Sex, age: int) -> str:
        pool = _GIVEN[sex is _MALE][age >= 50]
        first = self.pick(pool)
        return first if self.rand() < 0.3 else first + self.pick(pool)

    def phone(self) -> PhoneNumber:
        return _phone_number(f"{self.pick(_MOBILE_PREFIXES)}{int(self.rand() * 1e8):08d}")

    def spouse_age(self, age: int, *, floor: int) -> int:
        return max(floor, min(99, age + self.between(-3, 5)))

    def child_age(self, parent: int) -> int:
        gap = self.between(22, 36)
        return parent - gap if parent - gap >= 0 else self.between(0, max(0, parent - 20))

    # -- composition -----------------------------------------------------------------------

    def compose(self) -> tuple[str, list[_Person]]:
        """Draw a household kind and its members, head first."""
        size = 1 + bisect_right(_SIZE_CUM, self.rand() * _SIZE_CUM[-1])
        r = self.rand()
        if size == 1:
            return ("elder_alone", self.elders(1)) if r < 0.42 else ("alone", self.adults(1, 0))
        if size == 2:
            if r < 0.32:
                return "elder_couple", self.elders(2)
            if r < 0.60:
                return "couple", self.adults(2, 0)
            if r < 0.75:
                return "family", self.generations(1, 1, 0)
            if r < 0.90:
                return "family", self.adults(1, 1)
            return "left_behind", self.generations(1, 0, 1)
        if size == 3:
            if r < 0.70:
                return "family", self.adults(2, 1)
            if r < 0.90:
                return "family", self.generations(1, 2, 0)
            if r < 0.95:
                return "left_behind", self.generations(2, 0, 1)
            return "family", self.generations(2, 1, 0)
        if size == 4:
            if r < 0.40:
                return "family", self.adults(2, 2)
            if r < 0.85:
                return "family", self.generations(1, 2, 1)
            if r < 0.95:
                return "family", self.generations(2, 2, 0)
            return "left_behind", self.generations(2, 0, 2)
        return "family", (self.generations(2, 2, 1) if r < 0.6 else self.generations(1, 2, 2))

    def couple(self, n: int, age: int, floor: int) -> list[_Person]:
        head_sex = Sex.MALE if n == 2 and self.rand() < 0.8 else self.sex()
        people = [_Person(_HEAD, age, head_sex, self.surname())]
        if n == 2:
            spouse_age = self.spouse_age(age, floor=floor)
            people.append(_Person(_SPOUSE, spouse_age, _OTHER[head_sex is _MALE], self.surname()))
        return people

    def elders(self, n: int) -> list[_Person]:
        return self.couple(n, self.weighted(_ELDER_AGES, _ELDER_CUM), _ELDER)

    def adults(self, n: int, children: int) -> list[_Person]:
        people = self.couple(n, self.weighted(_ADULT_AGES, _ADULT_CUM), 20)
        family = _father_surname(people) or self.surname()
        for _ in range(children):
            sex = self.sex()
            people.append(_Person(_CHILD[sex is _MALE], self.child_age(people[0].age), sex, family))
        return people

    def generations(self, elders: int, middle: int, young: int) -> list[_Person]:
        people = self.elders(elders)
        family = young_family = _father_surname(people) or self.surname()
        parent_age = people[0].age
        if middle:
            sex = self.sex()
            parent_age = max(18, people[0].age - self.between(24, 34))
            people.append(_Person(_CHILD[sex is _MALE], parent_age, sex, family))
            if middle == 2:
                in_law = _Person(
                    _IN_LAW[sex is not _MALE],
                    self.spouse_age(parent_age, floor=18),
                    _OTHER[sex is _MALE],
                    self.surname(),
                )
                people.append(in_law)
                if in_law.sex is Sex.MALE:
                    young_family = in_law.surname
        for _ in range(young):
            sex = self.sex()
            age = self.child_age(parent_age) if middle else self.between(0, 17)
            people.append(_Person(_GRANDCHILD[sex is _MALE], age, sex, young_family))
        return people

    # -- residents -------------------------------------------------------------------------

    def national_id(self, birth_ordinal: int, sex: Sex) -> tuple[NationalId, pendulum.Date]:
        cached = self.births.get(birth_ordinal)
        if cached is None:
            d = dt.date.fromordinal(birth_ordinal)
            year_sum = self.year_sums.get(d.year)
            if year_sum is None:
                year_sum = self.year_sums[d.year] = _partial_sum(f"000000{d.year:04d}0000000")
            date_sum = year_sum + _MONTH_SUMS[d.month] + _DAY_SUMS[d.day]
            ymd = f"{d.year:04d}{d.month:02d}{d.day:02d}"
            cached = (pendulum.Date(d.year, d.month, d.day), ymd, date_sum)
            self.births[birth_ordinal] = cached
        birth, ymd, date_sum = cached
        code = self.address_code if self.rand() < 0.75 else self.pick(_OTHER_ADDRESS_CODES)
        seq = 2 * int(self.rand() * 500) + (1 if sex is Sex.MALE else 0)
        # Real numbers are unique: step to the next free sequence of the same parity.
        for _ in range(500):
            body = f"{code}{ymd}{seq:03d}"
            if body not in self.used_ids:
                break
            seq = (seq + 2) % 1000
        self.used_ids.add(body)
        check = _CHECK[(self.address_sums[code] + date_sum + _SEQUENCE_SUMS[seq]) % 11]
        return _national_id(body + check), birth

    def household(self, household_id: str) -> tuple[Resident, ...]:
        """Draw the members of one resident household."""
        rand = self.rand
        kind, people = self.compose()
        if kind in ("elder_alone", "alone"):
            arrangement = LivingArrangement.ALONE
        elif kind in ("elder_couple", "couple"):
            arrangement = LivingArrangement.WITH_SPOUSE_ONLY
        else:
            arrangement = LivingArrangement.WITH_FAMILY
        household_tags: list[Tag] = []
        if rand() < 0.025:
            household_tags.append(Tag.MINIMUM_LIVING_ALLOWANCE)
        elder_tags: list[Tag] = []
        if kind == "elder_alone":
            elder_tags.append(Tag.LIVING_ALONE)
        elif kind == "elder_couple":
            elder_tags.append(Tag.EMPTY_NEST)
        elif kind == "left_behind":
            elder_tags.append(Tag.LEFT_BEHIND)
        bereaved = kind in ("elder_alone", "elder_couple") and rand() < 0.04
        if bereaved:
            elder_tags.append(Tag.BEREAVED_SINGLE_CHILD_FAMILY)
        elif kind == "elder_alone" and rand() < 0.02:
            elder_tags.append(Tag.EXTREME_POVERTY_SUPPORT)
        autism = any(p.age < 18 for p in people) and rand() < 0.01
        phones = [
            self.phone() if p.age >= 14 and rand() < _phone_rate(p.age) else None for p in people
        ]
        names = [p.surname + self.given(p.sex, p.age) for p in people]
        # An adult child living in the household is the elders' first contact.
        carer = next(
            (i for i, p in enumerate(people) if p.relationship in ("儿子", "女儿") and p.age >= 18),
            None,
        )
        members = []
        for i, p in enumerate(people):
            age = p.age
            tags = list(household_tags)
            flags = self.health(age)
            member_arrangement = arrangement
            contacts: tuple[EmergencyContact, ...] = ()
            if age >= _ELDER:
                tags.extend(elder_tags)
                self.elder_tags(age, tags, flags)
                if kind == "left_behind":
                    member_arrangement = LivingArrangement.WITH_GRANDCHILDREN_ONLY
                contacts = (self.contact(p, people, names, phones, carer, bereaved),)
            if age >= 18:
                self.adult_tags(age, p.sex, tags)
                if autism and p.relationship not in ("孙子", "孙女"):
                    tags.append(Tag.AUTISM_FAMILY)
            if rand() < 0.006:
                tags.append(Tag.SEVERE_DISABILITY)
                flags.append(HealthFlag.LIMITED_MOBILITY)
            first, last = self.birth_range[age]
            national_id, birth = self.national_id(first + int(rand() * (last - first + 1)), p.sex)
            members.append(
                _resident(
                    f"{household_id}-{i + 1}",
                    names[i],
                    national_id,
                    birth,
                    p.sex,
                    phones[i],
                    frozenset(tags),
                    member_arrangement,
                    frozenset(flags),
                    contacts,
                    p.relationship,
                )
            )
        return tuple(members)

    def health(self, age: int) -> list[HealthFlag]:
        if age < 45:
            return []
        band = 0 if age < 60 else 1 if age < 70 else 2 if age < 80 else 3
        rand = self.rand
        return [flag for flag, rates in _HEALTH if rand() < rates[band]]

    def elder_tags(self, age: int, tags: list[Tag], flags: list[HealthFlag]) -> None:
        band = 0 if age < 70 else 1 if age < 80 else 2
        if age >= 80:
            tags.append(Tag.ADVANCED_AGE)
        if self.rand() < (0.02, 0.05, 0.12)[band]:
            tags.append(Tag.DISABLED)
            flags.append(HealthFlag.BEDRIDDEN if self.rand() < 0.4 else HealthFlag.LIMITED_MOBILITY)
        if self.rand() < (0.01, 0.03, 0.08)[band]:
            tags.append(Tag.DEMENTIA)
            flags.append(HealthFlag.DEMENTIA)
        if self.rand() < 0.03:
            tags.append(Tag.RETIRED_CADRE)

    def adult_tags(self, age: int, sex: Sex, tags: list[Tag]) -> None:
        if self.rand() < (0.12 if age >= _ELDER else 0.06):
            tags.append(Tag.PARTY_MEMBER)
        if self.rand() < (0.04 if age < _ELDER else 0.08 if age < 80 else 0.01):
            tags.append(Tag.VOLUNTEER)
        if sex is Sex.MALE and age >= 40 and self.rand() < 0.04:
            tags.append(Tag.VETERAN)

    def contact(
        self,
        person: _Person,
        people: Sequence[_Person],
        names: Sequence[str],
        phones: Sequence[PhoneNumber | None],
        carer: int | None,
        bereaved: bool,
    ) -> EmergencyContact:
        if carer is not None:
            phone = phones[carer]
            if phone is not None and people[carer] is not person:
                return _contact(names[carer], phone, people[carer].relationship)
        sex = self.sex()
        if bereaved or self.rand() < 0.03:
            # No child to call: a relative or a neighbour is the contact.
            relationship = self.pick(("侄子", "侄女", "邻居"))
            surname = self.surname() if relationship == "邻居" else person.surname
        else:
            relationship = _CHILD[sex is _MALE]
            surname = _father_surname(people) or person.surname
        return _contact(surname + self.given(sex, person.age - 28), self.phone(), relationship)


def _father_surname(people: Sequence[_Person]) -> str | None:
    """Return the surname children of the head's generation take: the man's of the couple."""
    for p in people[:2]:
        if p.relationship in (_HEAD, _SPOUSE) and p.sex is Sex.MALE:
            return p.surname
    return None


def _phone_rate(age: int) -> float:
    return 0.95 if age < 70 else 0.8 if age < 80 else 0.5


def _same_day(day: dt.date, year: int) -> dt.date:
    """Return ``day`` in ``year``; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def _address_base(cell: GridCell) -> str:
    """Return the place name of a grid cell: ``铁一村网格`` gives ``铁一村``."""
    name = cell.name
    return name[:-2] if name.endswith("网格") and len(name) > 2 else name


def _check_share(name: str, value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValidationError(name, "a share is a number from 0 to 1")
    return float(value)


def generate_households(
    cells: Sequence[GridCell],
    count: int,
    *,
    seed: int,
    as_of: pendulum.Date,
    address_code: str = "610102",
    id_prefix: str = "h",
    vacant_share: float = 0.03,
    moved_out_share: float = 0.01,
) -> Iterator[Household]:
    """Generate a synthetic, deterministic population of households.

    Households are spread evenly over ``cells``, in consecutive blocks in the cells' order, and
    numbered ``h000001``, ``h000002``, ...; their residents are ``h000001-1``, ``h000001-2``, ...
    A building cell's households live at ``<building name>``, unit and room; a grid cell's in
    numbered buildings (``铁一村网格`` gives ``铁一村3号楼``).

    Ages are as of ``as_of``. Elders of 80 and more carry :attr:`Tag.ADVANCED_AGE`; a one-person
    elder household is :attr:`LivingArrangement.ALONE` with :attr:`Tag.LIVING_ALONE`; an elderly
    couple on its own is :attr:`LivingArrangement.WITH_SPOUSE_ONLY` with
    :attr:`Tag.EMPTY_NEST`; elders raising grandchildren alone carry :attr:`Tag.LEFT_BEHIND`.
    Every elder has one emergency contact. Vacant and moved-out households have no members.

    Args:
        cells: Grid or building cells to place households in.
        count: How many households to generate.
        seed: Seed of the random stream; the same arguments give the same households.
        as_of: The date ages are computed on.
        address_code: The county code (GB/T 2260) three quarters of the ID numbers start with;
            the others come from elsewhere in Shaanxi and neighbouring provinces.
        id_prefix: Prefix of the household ids.
        vacant_share: Share of households that are vacant.
        moved_out_share: Share of households that have moved out.

    Returns:
        An iterator over the households. It keeps the ID numbers drawn so far (to keep them
        unique), not the households, so large populations stream.

    Raises:
        ValidationError: If an argument is out of range (at the call, not on iteration).
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValidationError("count", "a household count is an integer of 0 or more")
    cells = tuple(cells)
    if count and not cells:
        raise ValidationError("cells", "at least one cell is needed to place households")
    for i, cell in enumerate(cells):
        if not isinstance(cell, GridCell) or cell.level not in (GridLevel.GRID, GridLevel.BUILDING):
            raise ValidationError(f"cells[{i}]", "expected a grid or building GridCell")
    ensure_date(as_of, "as_of")
    try:
        if DivisionCode(address_code).level is not GridLevel.DISTRICT:
            raise ValidationError("", "an address code has six digits (GB/T 2260)")
    except ValidationError as exc:
        raise exc.within("address_code") from None
    if not isinstance(id_prefix, str) or not id_prefix.isascii() or not id_prefix.isalnum():
        raise ValidationError("id_prefix", "an id prefix is ASCII letters and digits")
    vacant = _check_share("vacant_share", vacant_share)
    moved_out = _check_share("moved_out_share", moved_out_share)
    if vacant + moved_out > 1:
        raise ValidationError("moved_out_share", "vacant_share + moved_out_share exceeds 1")
    drawer = _Drawer(random.Random(seed), as_of, address_code)
    return _generate(drawer, cells, count, id_prefix, vacant, vacant + moved_out)


def _generate(
    drawer: _Drawer,
    cells: tuple[GridCell, ...],
    count: int,
    id_prefix: str,
    vacant_below: float,
    moved_out_below: float,
) -> Iterator[Household]:
    width = max(6, len(str(count)))
    per_cell, extra = divmod(count, len(cells)) if cells else (0, 0)
    number = 0
    for c, cell in enumerate(cells):
        base = _address_base(cell)
        for j in range(per_cell + (1 if c < extra else 0)):
            number += 1
            household_id = f"{id_prefix}{number:0{width}d}"
            if cell.level is GridLevel.BUILDING:
                line, k = cell.name, j
            else:  # a grid cell: 36 flats to a building
                line, k = f"{base}{j // 36 + 1}号楼", j % 36
            # Six floors, two flats a floor in each stairwell (单元).
            address = _address(line, str(k // 12 + 1), f"{(k // 2) % 6 + 1}{k % 2 + 1:02d}")
            r = drawer.rand()
            members: tuple[Resident, ...] = ()
            if r < vacant_below:
                status, members = HouseholdStatus.VACANT, ()
            elif r < moved_out_below:
                status, members = HouseholdStatus.MOVED_OUT, ()
            else:
                status, members = HouseholdStatus.RESIDENT, drawer.household(household_id)
            yield _household(household_id, cell.code, address, status, members, None, 0)


def relocate(
    households: Iterable[Household],
    cell_codes: Collection[str],
    *,
    seed: int,
    share: float = 1.0,
) -> Iterator[Household]:
    """Mark households of demolition areas as relocated (拆迁外迁), with a forwarding contact.

    Each resident household with members whose cell is one of ``cell_codes``, or lies below one,
    is relocated with probability ``share`` to a resettlement estate, reachable on a member's
    phone (or a new number when none has one). Other households pass through unchanged.

    Args:
        households: The households, e.g. from :func:`generate_households`.
        cell_codes: The cells of the demolition areas.
        seed: Seed of the random stream.
        share: The share of the area's households that have moved away.

    Returns:
        An iterator over the households, in the same order.

    Raises:
        ValidationError: If ``share`` is not between 0 and 1 (at the call, not on iteration).
    """
    return _relocate(
        households,
        tuple(cell_codes),
        _Drawer(random.Random(seed), pendulum.Date(2000, 1, 1), "610102"),
        _check_share("share", share),
    )


def _relocate(
    households: Iterable[Household],
    prefixes: tuple[str, ...],
    drawer: _Drawer,
    share: float,
) -> Iterator[Household]:
    for h in households:
        if (
            h.status is not HouseholdStatus.RESIDENT
            or not h.members
            or not h.cell_code.startswith(prefixes)
            or not drawer.rand() < share
        ):
            yield h
            continue
        phone = next((m.phone for m in h.members if m.phone is not None), None)
        building, unit = drawer.between(1, 24), drawer.between(1, 4)
        room = f"{drawer.between(1, 18)}{drawer.between(1, 4):02d}"
        line = f"{drawer.pick(_RESETTLEMENT)}{building}号楼{unit}单元{room}室"
        forwarding = _forwarding(line, phone if phone is not None else drawer.phone(), "")
        yield _household(
            h.id,
            h.cell_code,
            h.address,
            HouseholdStatus.RELOCATED,
            h.members,
            forwarding,
            h.version,
        )
