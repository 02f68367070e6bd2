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
:data:`MAX_VALUE_REPR` characters without building their whole repr (the type checks live in
:mod:`voicegen.config_types`).

YAML dialect (see :mod:`voicegen.yamlio`): YAML 1.2 booleans and floats (``yes`` stays a string,
``1e-3`` is a float) and duplicate keys are errors.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml

from voicegen.config_types import (
    MAX_CONFIG_INT,
    MAX_VALUE_REPR,
    convert,
    field_types,
    is_union,
    short_repr,
    strip_optional,
    suggest,
    type_name,
)
from voicegen.errors import ConfigError
from voicegen.fileutil import atomic_write_text
from voicegen.yamlio import YamlDumper, deep_merge, load_yaml, parse_yaml  # noqa: F401 (re-exported)

T = TypeVar("T")

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
    raise TypeError(f"cannot write a {type(value).__name__} to a config: {short_repr(value)}")


def from_dict(cls: type[T], data: Mapping, *, source: str = "<dict>") -> T:
    """Build dataclass ``cls`` from plain ``data``, checking every key and type against the hints.

    Supported field types: bool, int, float (ints accepted), str, Path (from str), Any,
    ``X | None``/Optional, unions, Literal, list[X], tuple[X, ...], tuple[X, Y], dict[K, V] and
    nested dataclasses (a YAML section left empty, i.e. null, means "all defaults").
    ``source`` names the file in error messages.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"from_dict expects a dataclass type, got {cls!r}")
    return convert(cls, data, "", source)



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
            convert(leaf_type, copy.deepcopy(value), key, f"override {item!r}")
        section = result
        for depth, part in enumerate(parts[:-1]):
            child = section.get(part)
            if child is None:
                child = section[part] = {}
            elif not isinstance(child, dict):
                prefix = ".".join(parts[: depth + 1])
                raise ConfigError(f"override {item!r}: '{prefix}' is {short_repr(child)}, not a section")
            section = child
        section[parts[-1]] = value
    return result


def _schema_type_at(schema: type, parts: list[str], item: str) -> Any:
    """The declared type at dotted ``parts`` inside dataclass ``schema`` (ConfigError if unknown)."""
    tp: Any = schema
    for depth, part in enumerate(parts):
        tp = strip_optional(tp)
        dotted = ".".join(parts[: depth + 1])
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            fields = field_types(tp)
            if part not in fields:
                raise ConfigError(f"override {item!r}: unknown key '{dotted}'{suggest(part, fields)}")
            tp = fields[part]
        elif get_origin(tp) is dict or tp is dict:
            args = get_args(tp)
            tp = args[1] if args else Any
        elif tp is Any or is_union(tp):
            return Any  # not checkable statically; from_dict checks the final value
        else:
            parent = ".".join(parts[:depth])
            raise ConfigError(f"override {item!r}: '{parent}' is a {type_name(tp)}, not a section")
    return tp


__all__ = [
    "MAX_CONFIG_INT",
    "MAX_VALUE_REPR",
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
