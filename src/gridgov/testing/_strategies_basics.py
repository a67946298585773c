"""Hypothesis strategies for the basics: identifiers, names, codes, instants and vocabularies."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import pendulum
from hypothesis import strategies as st

from gridgov._levels import GridLevel
from gridgov._vocab import Term
from gridgov.codes import (
    _PROVINCES,
    NationalId,
    PhoneNumber,
    Sex,
    id_check_character,
)
from gridgov.grid import Duty, WorkerRole
from gridgov.households import (
    HealthFlag,
    Tag,
)

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
