"""A griffe extension for the API reference: the ``__init__`` that attrs writes, read at run time.

gridgov's domain classes are ``attrs`` classes whose docstrings document their fields under
``Args``. attrs writes their ``__init__`` when the class is created, so griffe, which reads the
source, sees none, and would take every documented argument for one the class does not have.
This extension imports each attrs class and gives griffe the ``__init__`` attrs wrote: the
names (aliases for private fields), their order and kinds, annotations and defaults.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import attrs
from griffe import (
    Class,
    Extension,
    Function,
    Module,
    Object,
    Parameter,
    ParameterKind,
    Parameters,
)

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: ParameterKind.positional_or_keyword,
    inspect.Parameter.KEYWORD_ONLY: ParameterKind.keyword_only,
}


def _runtime(cls: Class) -> Any:
    """Return the class object that ``cls`` describes, or None if it cannot be imported."""
    try:
        found: Any = importlib.import_module(cls.module.path)
        for name in cls.path[len(cls.module.path) + 1 :].split("."):
            found = getattr(found, name)
    except (ImportError, AttributeError):
        return None
    return found


def _default(field: attrs.Attribute[Any]) -> str | None:
    """Return a field's default as the signature shows it, or None if it has none."""
    if field.default is attrs.NOTHING:
        return None
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        factory = field.default.factory
        return f"{getattr(factory, '__name__', 'factory')}()"
    return repr(field.default)


def _init(cls: Class, runtime: Any) -> Function:
    """Return the ``__init__`` attrs wrote for ``runtime``, as griffe describes a function."""
    fields = {field.alias: field for field in attrs.fields(runtime) if field.init}
    parameters = [Parameter("self", kind=ParameterKind.positional_or_keyword)]
    for name, param in inspect.signature(runtime.__init__).parameters.items():
        if name == "self" or name not in fields:
            continue
        field = fields[name]
        member = cls.members.get(field.name)
        annotation = getattr(member, "annotation", None)
        parameters.append(
            Parameter(
                name,
                annotation=annotation,
                kind=_KINDS.get(param.kind, ParameterKind.positional_or_keyword),
                default=_default(field),
            )
        )
    return Function(
        "__init__",
        lineno=cls.lineno,
        parent=cls,
        parameters=Parameters(*parameters),
        returns="None",
    )


def _visit(obj: Object, seen: set[str]) -> None:
    """Give every attrs class under ``obj`` its ``__init__``."""
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, Class) and "__init__" not in obj.members:
        runtime = _runtime(obj)
        if runtime is not None and attrs.has(runtime):
            obj.set_member("__init__", _init(obj, runtime))
    for member in list(obj.members.values()):
        if not member.is_alias and isinstance(member, Module | Class):
            _visit(member, seen)


class AttrsInit(Extension):
    """Give griffe the ``__init__`` of each attrs class, as attrs wrote it."""

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        """Visit every class of the loaded package."""
        _visit(pkg, set())
