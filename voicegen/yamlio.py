"""YAML for configs: a safe loader with YAML 1.2 booleans and floats, ``include:``, deep merge.

Only plain data is ever constructed (python tags are refused). YAML 1.1 surprises people, so only
``true``/``false`` are booleans (``yes``, ``no``, ``on``, ``off`` stay strings: a speaker called
``NO`` stays ``"NO"``) and ``1e-3`` is a float (YAML 1.1 reads it as a string). Duplicate keys in
one mapping are errors instead of silently keeping the last one. Problems are one-line
:class:`~voicegen.errors.ConfigError` messages naming the file.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from voicegen.errors import ConfigError

INCLUDE_KEY = "include"
"""Top-level key naming the YAML file(s) a config builds on."""

_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """SafeLoader (plain data only) with YAML 1.2 booleans/floats and duplicate-key errors."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"found duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, _BOOL_RE, list("tTfF"))
_Loader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))


class YamlDumper(yaml.SafeDumper):
    """SafeDumper that also quotes strings our loader would read as floats (e.g. ``"1e-3"``)."""


YamlDumper.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))



def parse_yaml(text: str, *, source: str = "<string>") -> Any:
    """Parse one YAML document with the safe loader; errors become one-line ConfigErrors."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: invalid YAML{_yaml_error_text(err)}") from None
    finally:
        loader.dispose()


def _yaml_error_text(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError):
        where = ""
        if err.problem_mark is not None:
            where = f" at line {err.problem_mark.line + 1}, column {err.problem_mark.column + 1}"
        problem = " ".join(str(err.problem or err.context or "syntax error").split())
        hint = ""
        if "constructor for the tag" in problem:
            hint = " (config files hold plain data only; python tags are not allowed)"
        return f"{where}: {problem}{hint}"
    return ": " + " ".join(str(err).split())


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping from ``path``, resolving ``include:`` (a file or a list of files).

    Included files are read relative to the including file and merged in order; the including
    file is deep-merged on top (mappings merge key by key, everything else is replaced).
    Raises ConfigError for a missing file, invalid YAML, a non-mapping document or an include cycle.
    """
    return _load_yaml(Path(path), chain=())


def _load_yaml(path: Path, chain: tuple[Path, ...]) -> dict:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ConfigError(f"{path}: include cycle ({cycle}); remove one of the includes")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file ({err})") from None
    data = parse_yaml(text, source=str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping, got {type(data).__name__}")
    includes = data.pop(INCLUDE_KEY, None)
    if includes is None:
        return data
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(name, str) for name in includes):
        raise ConfigError(f"{path}: '{INCLUDE_KEY}' must be a file name or a list of file names")
    merged: dict = {}
    for name in includes:
        merged = deep_merge(merged, _load_yaml(path.parent / Path(name).expanduser(), (*chain, resolved)))
    return deep_merge(merged, data)


def deep_merge(base: Mapping, top: Mapping) -> dict:
    """A new dict: ``base`` with ``top`` on top; nested mappings merge, other values are replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
