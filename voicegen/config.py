"""Typed configuration: dataclass schemas filled from YAML, strictly.

A config is a (nested) dataclass with typed fields and defaults. YAML files fill it:

* :func:`load_yaml` reads a file with a *safe* loader (plain data only; python tags are refused),
  resolves a top-level ``include: base.yaml`` (or a list of files, relative to the including
  file, later ones winning) and deep-merges the including file on top. Include cycles are errors.
  ``include:`` reaches regular files named ``*.yaml``/``*.yml`` only (anything else is refused
  unread, so no other file's content can show up in a message); see :mod:`voicegen.yamlio`.
* :func:`apply_overrides` applies ``--set a.b=c`` items (values parsed as YAML, so ``3``, ``0.5``,
  ``true``, ``[1, 2]`` and ``null`` work); with a schema, unknown paths and badly typed values are
  errors naming the item.
* :func:`from_dict` builds the dataclass from the type hints, refusing unknown keys, wrong types and
  missing required fields with a one-line :class:`~voicegen.errors.ConfigError` naming the file and
  the dotted key. A dataclass's ``__post_init__`` may raise ``ValueError`` to reject a value; the
  message is reported the same way.
* :func:`to_dict` / :func:`save_yaml` write a config back (``save_yaml`` is atomic).

Every integer a config holds lies within +-:data:`MAX_CONFIG_INT` (an ``OverflowError`` deep in
numpy or torch is a one-line error here instead), and values quoted in messages are cut to
:data:`MAX_VALUE_REPR` characters without building their whole repr.

YAML dialect (see :mod:`voicegen.yamlio`): YAML 1.2 booleans and floats (``yes`` stays a string,
``1e-3`` is a float) and duplicate keys are errors.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import reprlib
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from voicegen.errors import ConfigError
from voicegen.fileutil import atomic_write_text
from voicegen.yamlio import YamlDumper, deep_merge, load_yaml, parse_yaml  # noqa: F401 (re-exported)

T = TypeVar("T")

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


# ----------------------------------------------------------------------------------------------
# YAML files (parsing, include: and merging live in voicegen.yamlio)


def dump_yaml(data: Any) -> str:
    """YAML text for plain data (key order kept), readable back by :func:`parse_yaml`."""
    return yaml.dump(_plain(data), Dumper=YamlDumper, sort_keys=False, allow_unicode=True)


def save_yaml(config: Any, path: str | os.PathLike, *, header: str | None = None) -> Path:
    """Write a dataclass instance or plain dict to ``path`` as YAML, atomically.

    ``header`` (optional) is written first as ``#`` comment lines. Returns the path.
    """
    text = dump_yaml(config)
    if header:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + text
    return atomic_write_text(path, text)


# ----------------------------------------------------------------------------------------------
# dataclass <-> plain data


def to_dict(config: Any) -> dict:
    """Plain (YAML/JSON-able) dict of a dataclass instance or dict: tuples become lists, paths str."""
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)) and not isinstance(config, Mapping):
        raise TypeError(f"to_dict expects a dataclass instance or a dict, got {type(config).__name__}")
    return _plain(config)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} to a config: {_short_repr(value)}")


def from_dict(cls: type[T], data: Mapping, *, source: str = "<dict>") -> T:
    """Build dataclass ``cls`` from plain ``data``, checking every key and type against the hints.

    Supported field types: bool, int, float (ints accepted), str, Path (from str), Any,
    ``X | None``/Optional, unions, Literal, list[X], tuple[X, ...], tuple[X, Y], dict[K, V] and
    nested dataclasses (a YAML section left empty, i.e. null, means "all defaults").
    ``source`` names the file in error messages.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"from_dict expects a dataclass type, got {cls!r}")
    return _convert(cls, data, "", source)



PRESET_KEY = "preset"
"""Key of a model section naming a preset to start from; the section's other keys override it."""


def from_preset(cls: type[T], config: Mapping[str, Any] | T, presets: Mapping[str, T], what: str, *,
                source: str = "<dict>") -> T:
    """A typed ``cls`` from ``config``: an instance as is, or a dict (``{"preset": "cpu", ...}`` allowed).

    With ``preset``, the named entry of ``presets`` gives the starting values and the other keys
    override them; then :func:`from_dict` checks keys and types. ``what`` names the section in errors.
    """
    if isinstance(config, cls):
        return config
    if not isinstance(config, Mapping):
        raise ConfigError(f"{source}: {what} must be a mapping of settings, got {type(config).__name__}")
    data = dict(config)
    name = data.pop(PRESET_KEY, None)
    if name is not None:
        if name not in presets:
            raise ConfigError(f"{source}: unknown {what} preset {name!r}; choose one of: {', '.join(presets)}")
        base = presets[name]
        data = {**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, **data}
    return from_dict(cls, data, source=source)


def load_config(cls: type[T], path: str | os.PathLike, overrides: Iterable[str] = ()) -> T:
    """``load_yaml(path)``, then ``--set`` ``overrides``, then :func:`from_dict` into ``cls``."""
    data = apply_overrides(load_yaml(path), list(overrides), schema=cls)
    return from_dict(cls, data, source=str(path))


# ----------------------------------------------------------------------------------------------
# --set overrides


def apply_overrides(data: Mapping, overrides: Iterable[str], *, schema: type | None = None) -> dict:
    """A copy of ``data`` with ``a.b.c=value`` items applied (value parsed as YAML).

    Missing (or null) intermediate sections are created; a value replaces what was there (a
    mapping value replaces the whole section). With a dataclass ``schema``, a path the schema does
    not know, or a value of the wrong type, is a ConfigError naming the item.
    """
    result = copy.deepcopy(dict(data))
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"override {item!r}: expected KEY=VALUE, e.g. trainer.max_steps=1000")
        key, text = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if not key or any(not part for part in parts):
            raise ConfigError(f"override {item!r}: the key must be a dotted path like trainer.max_steps")
        value = parse_yaml(text, source=f"override {item!r}")
        if schema is not None:
            leaf_type = _schema_type_at(schema, parts, item)
            _convert(leaf_type, copy.deepcopy(value), key, f"override {item!r}")
        section = result
        for depth, part in enumerate(parts[:-1]):
            child = section.get(part)
            if child is None:
                child = section[part] = {}
            elif not isinstance(child, dict):
                prefix = ".".join(parts[: depth + 1])
                raise ConfigError(f"override {item!r}: '{prefix}' is {_short_repr(child)}, not a section")
            section = child
        section[parts[-1]] = value
    return result


def _schema_type_at(schema: type, parts: list[str], item: str) -> Any:
    """The declared type at dotted ``parts`` inside dataclass ``schema`` (ConfigError if unknown)."""
    tp: Any = schema
    for depth, part in enumerate(parts):
        tp = _strip_optional(tp)
        dotted = ".".join(parts[: depth + 1])
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            fields = _field_types(tp)
            if part not in fields:
                raise ConfigError(f"override {item!r}: unknown key '{dotted}'{_suggest(part, fields)}")
            tp = fields[part]
        elif get_origin(tp) is dict or tp is dict:
            args = get_args(tp)
            tp = args[1] if args else Any
        elif tp is Any or _is_union(tp):
            return Any  # not checkable statically; from_dict checks the final value
        else:
            parent = ".".join(parts[:depth])
            raise ConfigError(f"override {item!r}: '{parent}' is a {_type_name(tp)}, not a section")
    return tp


# ----------------------------------------------------------------------------------------------
# type checking and conversion


def _convert(tp: Any, value: Any, key: str, source: str) -> Any:
    """``value`` checked against (and converted to) type ``tp``; ``key`` is the dotted path."""
    origin = get_origin(tp)
    if tp is Any or tp is object:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _type_error(tp, value, key, source)
    if _is_union(tp):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        candidates = [option for option in options if option is not type(None)]
        if len(candidates) == 1 and _fits_container(candidates[0], value):
            return _convert(candidates[0], value, key, source)  # inner errors are more precise
        for option in candidates:
            try:
                return _convert(option, value, key, source)
            except ConfigError:
                continue
        raise _type_error(tp, value, key, source)
    if origin is Literal:
        for choice in get_args(tp):
            if value == choice and type(value) is type(choice):
                return choice
        choices = ", ".join(repr(choice) for choice in get_args(tp))
        raise ConfigError(f"{source}: '{_name(key)}' must be one of {choices}; got {_short_repr(value)}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, key, source)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(tp, value, key, source, hint=" (write true or false)")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_CONFIG_INT:
                raise ConfigError(f"{source}: '{_name(key)}' = {_short_repr(value)} is beyond the largest integer a "
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
        return [_convert(item_type, item, f"{key}[{i}]", source) for i, item in enumerate(value)]
    if origin is tuple or tp is tuple:
        return _convert_tuple(tp, value, key, source)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _type_error(tp, value, key, source)
        key_type, item_type = get_args(tp) or (Any, Any)
        return {
            _convert(key_type, name, f"{_join(key, str(name))} (key)", source): _convert(
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
        return tuple(_convert(item_type, item, f"{key}[{i}]", source) for i, item in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(
            f"{source}: '{_name(key)}' must be a list of {len(args)} items ({_type_name(tp)}); "
            f"got {_short_repr(value)}"
        )
    return tuple(_convert(t, item, f"{key}[{i}]", source) for i, (t, item) in enumerate(zip(args, value)))


def _convert_dataclass(cls: type, value: Any, key: str, source: str) -> Any:
    if isinstance(value, cls):
        return value
    if value is None:
        value = {}  # an empty YAML section (all entries commented out) means "all defaults"
    if not isinstance(value, Mapping):
        raise _type_error(cls, value, key, source)
    fields = _field_types(cls)
    for name in value:
        if name not in fields:
            dotted = _join(key, str(name))
            known = ", ".join(list(fields)[:MAX_KNOWN_KEYS_LISTED])
            more = ", ..." if len(fields) > MAX_KNOWN_KEYS_LISTED else ""
            suggestion = _suggest(str(name), fields)
            raise ConfigError(f"{source}: unknown key '{dotted}'{suggestion} (known: {known}{more})")
    kwargs = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name in value:
            kwargs[field.name] = _convert(fields[field.name], value[field.name], _join(key, field.name), source)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: missing required key '{_join(key, field.name)}'")
    try:
        return cls(**kwargs)
    except ValueError as err:  # __post_init__ validation
        raise ConfigError(f"{source}: '{_name(key)}': {' '.join(str(err).split())}") from None


def _field_types(cls: type) -> dict[str, Any]:
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


def _is_union(tp: Any) -> bool:
    return get_origin(tp) is Union or isinstance(tp, types.UnionType)


def _strip_optional(tp: Any) -> Any:
    if _is_union(tp):
        options = [option for option in get_args(tp) if option is not type(None)]
        if len(options) == 1:
            return options[0]
    return tp


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any value"
    if _is_union(tp):
        return " or ".join(_type_name(option) for option in get_args(tp))
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    if origin is not None:
        args = ", ".join("..." if arg is Ellipsis else _type_name(arg) for arg in get_args(tp))
        return f"{origin.__name__}[{args}]"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp)


def _type_error(tp: Any, value: Any, key: str, source: str, hint: str = "") -> ConfigError:
    return ConfigError(
        f"{source}: '{_name(key)}' must be {_type_name(tp)}, got {_short_repr(value)} "
        f"({type(value).__name__}){hint}"
    )


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _short_repr(value: Any) -> str:
    """A one-line repr of at most MAX_VALUE_REPR characters, never built whole (reprlib limits
    items per level, levels, and the length of strings and numbers)."""
    text = " ".join(_REPR.repr(value).split())
    return text if len(text) <= MAX_VALUE_REPR else text[: MAX_VALUE_REPR - 3] + "..."


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _name(key: str) -> str:
    return key or "(top level)"


__all__ = [
    "apply_overrides",
    "deep_merge",
    "dump_yaml",
    "from_dict",
    "load_config",
    "load_yaml",
    "parse_yaml",
    "save_yaml",
    "to_dict",
]
