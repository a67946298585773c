"""Which building an address names: a look-up over the ledger's buildings, conservative.

:class:`AddressBook` reads the building cells of the area hierarchy (the 楼栋 of the ledger:
``铁一村3号楼``, ``大明宫院子``) and answers, for an address as a resident or the hotline typed
it (``明宫社区 ３号楼 2单元 501``), the one building it names. It normalises only what is
certainly the same (:func:`normalise`):

- full-width letters, digits and spaces are made half-width; spaces and the separators
  ``-·,，、`` are dropped;
- a building number is written one way: ``3栋``, ``3幢``, ``3号栋``, ``3号幢``, ``3#``,
  ``3#楼``, ``三号楼``, ``03号楼`` are all ``3号楼`` (Chinese numerals up to 99, only before
  such a word: ``铁一村`` keeps its 一). ``3楼`` is left alone: it is as often the third floor.

An address names a building when, after a province and a city (``陕西省西安市``), it is the
building's name, or its number with only the names of the building's own grid, community,
street or district before it (``明宫社区3号楼``: the 3号楼 of a grid of 明宫社区), and anything
after it (unit, room). Of several such buildings the one whose name reaches furthest into the
address is the answer; if that still leaves several, :class:`~gridgov.errors.AmbiguousAddressError`
lists their codes instead of a guess. An address naming none raises
:class:`~gridgov.errors.UnknownAddressError`. Neither error repeats the address: it may identify
a household.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gridgov._text import to_halfwidth
from gridgov.errors import AmbiguousAddressError, UnknownAddressError, ValidationError
from gridgov.grid import GridCell, GridLevel

if TYPE_CHECKING:
    from gridgov.ports import UnitOfWork

__all__ = ["AddressBook", "normalise"]

_SEPARATORS = re.compile(r"[\s\-·,，、]+")
_NUMERALS = "零一二三四五六七八九"
# A building number and the word after it: arabic digits or Chinese numerals up to 99.
_BUILDING = re.compile(
    r"(\d+|[零一二三四五六七八九十]{1,3})(?:号楼|号栋|号幢|#楼|栋|幢|#)",
)
# Names a place ends with, dropped to give the stem an address may use (铁一村网格 -> 铁一村).
_SUFFIXES = ("片区网格", "网格", "社区", "街道", "小区")  # both 北拆迁片区 and 北拆迁
_PROVINCE_CITY = re.compile(r"^(?:[^省市]{1,7}省)?(?:[^省市]{1,7}市)?")
_MAX_ADDRESS = 300


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    tens, _, units = text.partition("十")
    if "十" not in text:
        return _NUMERALS.index(text) if len(text) == 1 else None
    if (tens and tens not in _NUMERALS[1:]) or (units and units not in _NUMERALS[1:]):
        return None
    return (_NUMERALS.index(tens) if tens else 1) * 10 + (_NUMERALS.index(units) if units else 0)


def _building_number(match: re.Match[str]) -> str:
    number = _number(match.group(1))
    return match.group(0) if number is None else f"{number}号楼"


def normalise(address: str) -> str:
    """Return ``address`` written one way: half-width, no spaces, building numbers as ``3号楼``.

    >>> normalise("明宫社区 ３栋 2单元 501")
    '明宫社区3号楼2单元501'
    """
    text = _SEPARATORS.sub("", to_halfwidth(address))
    return _BUILDING.sub(_building_number, text)


def _check(address: object) -> str:
    if not isinstance(address, str):
        raise ValidationError("address", "expected text")
    if not address.strip():
        raise ValidationError("address", "an empty address names no building")
    if len(address) > _MAX_ADDRESS:
        raise ValidationError("address", f"at most {_MAX_ADDRESS} characters")
    if "\x00" in address or any(0xD800 <= ord(c) <= 0xDFFF for c in address):
        raise ValidationError("address", "text with a NUL or a lone surrogate")
    return address


def _stems(name: str) -> set[str]:
    text = normalise(name)
    out = {text}
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            out.add(text[: -len(suffix)])
    return out


class AddressBook:
    """The buildings of an area hierarchy, looked up by address.

    Args:
        cells: The cells: the buildings and their ancestors (other cells are read for their
            names only).
    """

    def __init__(self, cells: Iterable[GridCell]) -> None:
        by_code = {c.code: c for c in cells}
        self._context: dict[str, tuple[str, ...]] = {}
        aliases: dict[str, set[str]] = defaultdict(set)
        for cell in by_code.values():
            if cell.level is not GridLevel.BUILDING:
                continue
            names: set[str] = set()
            parent = cell.parent_code
            while parent is not None and parent in by_code and len(names) < 64:
                names |= _stems(by_code[parent].name)
                parent = by_code[parent].parent_code
            # Longest first: a prefix is read by the longest name it starts with.
            self._context[cell.code] = tuple(sorted(names, key=lambda n: (-len(n), n)))
            full = normalise(cell.name)
            aliases[full].add(cell.code)
            for name in names:
                if full.startswith(name) and len(full) > len(name):
                    aliases[full[len(name) :]].add(cell.code)
        self._aliases = {alias: tuple(sorted(codes)) for alias, codes in aliases.items() if alias}
        self._lengths = sorted({len(a) for a in self._aliases}, reverse=True)

    @classmethod
    def of_store(cls, uow: UnitOfWork) -> AddressBook:
        """Return the book of every stored building."""
        return cls(uow.cells.tree())

    def __len__(self) -> int:
        return len(self._context)

    def _context_only(self, prefix: str, code: str) -> bool:
        """Return whether ``prefix`` is made only of names of the building's ancestors."""
        rest = prefix
        while rest:
            name = next((n for n in self._context[code] if rest.startswith(n)), None)
            if name is None:
                return False
            rest = rest[len(name) :]
        return True

    def _reach(self, address: str) -> dict[str, int]:
        """Return each building the address names, and where in it its name ends."""
        text = normalise(_check(address))
        match = _PROVINCE_CITY.match(text)
        text = text[match.end() if match else 0 :]
        reach: dict[str, int] = {}
        for start in range(len(text)):
            for length in self._lengths:
                for code in self._aliases.get(text[start : start + length], ()):
                    end = start + length
                    if end > reach.get(code, -1) and self._context_only(text[:start], code):
                        reach[code] = end
        return reach

    def candidates(self, address: str) -> tuple[str, ...]:
        """Return the codes of the buildings ``address`` names, best first; see the module.

        Raises:
            ValidationError: If ``address`` is not text of 1 to 300 characters.
        """
        reach = self._reach(address)
        return tuple(sorted(reach, key=lambda c: (-reach[c], c)))

    def building(self, address: str, *, path: str = "address") -> str:
        """Return the code of the one building ``address`` names.

        Args:
            address: The address as typed.
            path: The field named in an error.

        Raises:
            UnknownAddressError: If it names no building.
            AmbiguousAddressError: If it names several equally well (``candidates`` lists them).
            ValidationError: If ``address`` is not text of 1 to 300 characters.
        """
        reach = self._reach(address)
        if not reach:
            raise UnknownAddressError(path, "no building of the ledger matches the address")
        furthest = max(reach.values())
        best = sorted(c for c, end in reach.items() if end == furthest)
        if len(best) > 1:
            raise AmbiguousAddressError(
                path,
                f"the address matches {len(best)} buildings: name the grid or the building",
                best,
            )
        return best[0]
