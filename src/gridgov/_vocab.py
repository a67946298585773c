"""Open vocabularies: values identified by a code, with labels for the built-in ones."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import attrs

from gridgov.errors import ValidationError

_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")


def _check_code(_inst: Any, _attr: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValidationError("", "a code is 1-48 lower-case letters, digits or '_'")


@attrs.frozen(order=True)
class Term:
    """A value of an open vocabulary, identified by its snake_case ``code``.

    Subclasses keep a table of built-in codes with English and Chinese labels; any other
    well-formed code is accepted too, labelled by its code, so platforms can add their own.

    Args:
        code: The value's code, e.g. ``"living_alone"``.
    """

    code: str = attrs.field(validator=_check_code)

    _labels: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each vocabulary keeps its own table of built-ins.
        super().__init_subclass__(**kwargs)
        if "_labels" not in cls.__dict__:
            cls._labels = {}

    @classmethod
    def builtin(cls, code: str, label_en: str, label_zh: str) -> Self:
        """Declare a built-in value with its labels and return it."""
        cls._labels[code] = (label_en, label_zh)
        return cls(code)

    @classmethod
    def builtins(cls) -> tuple[Self, ...]:
        """Return the built-in values, in declaration order."""
        return tuple(cls(c) for c in cls._labels)

    @property
    def is_builtin(self) -> bool:
        """Return whether this value is one of the library's own."""
        return self.code in self._labels

    @property
    def label_en(self) -> str:
        """Return the English label, or the code for a platform-defined value."""
        return self._labels.get(self.code, (self.code, self.code))[0]

    @property
    def label_zh(self) -> str:
        """Return the Chinese label, or the code for a platform-defined value."""
        return self._labels.get(self.code, (self.code, self.code))[1]

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r})"
