"""Checking plain data (YAML, JSON, ``--set`` values) against a dataclass schema's type hints.

:func:`convert` is the engine of :func:`voicegen.config.from_dict` and of the ``--set`` checks in
:func:`voicegen.config.apply_overrides`: it converts a value to a declared type or raises a
one-line :class:`~voicegen.errors.ConfigError` naming the source and the dotted key. Values quoted
in messages are cut to :data:`MAX_VALUE_REPR` characters without building their whole repr
(:func:`short_repr`), and integers beyond +-:data:`MAX_CONFIG_INT` are refused.
"""

from __future__ import annotations

import dataclasses
import difflib
import reprlib
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from voicegen.errors import ConfigError

MAX_VALUE_REPR = 60
"""Values longer than this (as ``repr``) are shortened in error messages to keep them one line."""

MAX_KNOWN_KEYS_LISTED = 20
"""At most this many known keys are listed in an 'unknown key' message."""

MAX_CONFIG_INT = 2**53
"""Largest magnitude of an integer config value (beyond it, C conversions overflow)."""



class _ShortRepr(reprlib.Repr):
    """reprlib's bounded repr; huge integers are shown by magnitude (their digits are not built)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4 * MAX_VALUE_REPR:
            return f"{'-' if x < 0 else ''}~2**{x.bit_length()}"
        return super().repr_int(x, level)


# Bounded repr for messages: a few items per level, a few levels, long strings and numbers cut.
_REPR = _ShortRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 3, 6, 6, 4, 6
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = MAX_VALUE_REPR


def convert(tp: Any, value: Any, key: str, source: str) -> Any:
    """``value`` checked against (and converted to) type ``tp``; ``key`` is the dotted path."""
    origin = get_origin(tp)
    if tp is Any or tp is object:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _type_error(tp, value, key, source)
    if is_union(tp):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        candidates = [option for option in options if option is not type(None)]
        if len(candidates) == 1 and _fits_container(candidates[0], value):
            return convert(candidates[0], value, key, source)  # inner errors are more precise
        for option in candidates:
            try:
                return convert(option, value, key, source)
            except ConfigError:
                continue
        raise _type_error(tp, value, key, source)
    if origin is Literal:
        for choice in get_args(tp):
            if value == choice and type(value) is type(choice):
                return choice
        choices = ", ".join(repr(choice) for choice in get_args(tp))
        raise ConfigError(f"{source}: '{_name(key)}' must be one of {choices}; got {short_repr(value)}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, key, source)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(tp, value, key, source, hint=" (write true or false)")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_CONFIG_INT:
                raise ConfigError(f"{source}: '{_name(key)}' = {short_repr(value)} is beyond the largest integer a "
                                  f"config takes (+-2**53, voicegen.config.MAX_CONFIG_INT)")
            return value
        raise _type_error(tp, value, key, source)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _type_error(tp, value, key, source)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _type_error(tp, value, key, source, hint=" (quote it)")
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise _type_error(tp, value, key, source)
    if origin is list or tp is list:
        if not isinstance(value, (list, tuple)):
            raise _type_error(tp, value, key, source)
        (item_type,) = get_args(tp) or (Any,)
        return [convert(item_type, item, f"{key}[{i}]", source) for i, item in enumerate(value)]
    if origin is tuple or tp is tuple:
        return _convert_tuple(tp, value, key, source)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _type_error(tp, value, key, source)
        key_type, item_type = get_args(tp) or (Any, Any)
        return {
            convert(key_type, name, f"{_join(key, str(name))} (key)", source): convert(
                item_type, item, _join(key, str(name)), source
            )
            for name, item in value.items()
        }
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _type_error(tp, value, key, source)
    raise TypeError(f"{source}: '{_name(key)}' has an annotation config.py cannot check: {tp!r}")


def _convert_tuple(tp: Any, value: Any, key: str, source: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise _type_error(tp, value, key, source)
    args = get_args(tp)
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        item_type = args[0] if args else Any
        return tuple(convert(item_type, item, f"{key}[{i}]", source) for i, item in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(
            f"{source}: '{_name(key)}' must be a list of {len(args)} items ({type_name(tp)}); "
            f"got {short_repr(value)}"
        )
    return tuple(convert(t, item, f"{key}[{i}]", source) for i, (t, item) in enumerate(zip(args, value)))


def _convert_dataclass(cls: type, value: Any, key: str, source: str) -> Any:
    if isinstance(value, cls):
        return value
    if value is None:
        value = {}  # an empty YAML section (all entries commented out) means "all defaults"
    if not isinstance(value, Mapping):
        raise _type_error(cls, value, key, source)
    fields = field_types(cls)
    for name in value:
        if name not in fields:
            dotted = _join(key, str(name))
            known = ", ".join(list(fields)[:MAX_KNOWN_KEYS_LISTED])
            more = ", ..." if len(fields) > MAX_KNOWN_KEYS_LISTED else ""
            suggestion = suggest(str(name), fields)
            raise ConfigError(f"{source}: unknown key '{dotted}'{suggestion} (known: {known}{more})")
    kwargs = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name in value:
            kwargs[field.name] = convert(fields[field.name], value[field.name], _join(key, field.name), source)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: missing required key '{_join(key, field.name)}'")
    try:
        return cls(**kwargs)
    except ValueError as err:  # __post_init__ validation
        raise ConfigError(f"{source}: '{_name(key)}': {' '.join(str(err).split())}") from None


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of the init fields of dataclass ``cls``, in declaration order."""
    try:
        hints = get_type_hints(cls)
    except NameError as err:
        raise TypeError(f"cannot resolve the type hints of {cls.__qualname__}: {err}") from None
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _fits_container(tp: Any, value: Any) -> bool:
    """Whether ``tp`` is a dataclass/dict/list/tuple type and ``value`` has that outer shape."""
    origin = get_origin(tp) or tp
    if (isinstance(tp, type) and dataclasses.is_dataclass(tp)) or origin is dict:
        return isinstance(value, Mapping) or (isinstance(tp, type) and isinstance(value, tp))
    return origin in (list, tuple) and isinstance(value, (list, tuple))


def is_union(tp: Any) -> bool:
    return get_origin(tp) is Union or isinstance(tp, types.UnionType)


def strip_optional(tp: Any) -> Any:
    if is_union(tp):
        options = [option for option in get_args(tp) if option is not type(None)]
        if len(options) == 1:
            return options[0]
    return tp


def type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any value"
    if is_union(tp):
        return " or ".join(type_name(option) for option in get_args(tp))
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    if origin is not None:
        args = ", ".join("..." if arg is Ellipsis else type_name(arg) for arg in get_args(tp))
        return f"{origin.__name__}[{args}]"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp)


def _type_error(tp: Any, value: Any, key: str, source: str, hint: str = "") -> ConfigError:
    return ConfigError(
        f"{source}: '{_name(key)}' must be {type_name(tp)}, got {short_repr(value)} "
        f"({type(value).__name__}){hint}"
    )


def suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def short_repr(value: Any) -> str:
    """A one-line repr of at most MAX_VALUE_REPR characters, never built whole (reprlib limits
    items per level, levels, and the length of strings and numbers)."""
    text = " ".join(_REPR.repr(value).split())
    return text if len(text) <= MAX_VALUE_REPR else text[: MAX_VALUE_REPR - 3] + "..."


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _name(key: str) -> str:
    return key or "(top level)"

