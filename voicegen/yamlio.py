"""YAML for configs: a safe loader with YAML 1.2 booleans and floats, ``include:``, deep merge.

Only plain data is ever constructed (python tags are refused). YAML 1.1 surprises people, so only
``true``/``false`` are booleans (``yes``, ``no``, ``on``, ``off`` stay strings: a speaker called
``NO`` stays ``"NO"``) and ``1e-3`` is a float (YAML 1.1 reads it as a string). Duplicate keys in
one mapping are errors instead of silently keeping the last one. Problems are one-line
:class:`~voicegen.errors.ConfigError` messages naming the file.

Bounds, checked before the values are built: a config file holds at most :data:`MAX_CONFIG_BYTES`,
a document at most :data:`MAX_YAML_NODES` values once its aliases are expanded (a 351-byte alias
bomb expands to billions) and :data:`MAX_YAML_DEPTH` levels of nesting, and no alias may contain
itself.

``include:`` may reach any regular file whose name ends in ``.yaml`` or ``.yml``, relative to the
including file or absolute (``~`` expands); anything else (``/etc/shadow``, a FIFO, a device) is
refused by its name and type, before it is opened, so its content never appears in a message. A
file whose top-level keys are not setting names (letters, digits, ``_``, ``.``, ``-``) is refused
as "not a config" without quoting them (a ``name:value`` line of a system file parses as a key).
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
from voicegen.pathcheck import require_regular_file

INCLUDE_KEY = "include"
"""Top-level key naming the YAML file(s) a config builds on."""
CONFIG_SUFFIXES = (".yaml", ".yml")
"""Names a config file (and every file ``include:`` names) must end with."""
MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (1 MiB; the recipes' configs hold a few KB)."""
MAX_YAML_NODES = 100_000
"""Most values (scalars, lists, mappings) one YAML document may expand to, aliases expanded."""
MAX_YAML_DEPTH = 64
"""Deepest nesting of lists/mappings in one YAML document."""
MAX_CONFIG_FILES = 64
"""Most files one config may read, itself and everything ``include:`` reaches (the recipes use 2-3)."""
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
"""What a top-level key of a config file looks like."""

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


class YamlLimitError(yaml.YAMLError):
    """A document beyond MAX_YAML_NODES / MAX_YAML_DEPTH, or with an alias that contains itself."""


class _Loader(yaml.SafeLoader):
    """SafeLoader (plain data only) with YAML 1.2 booleans/floats, duplicate-key errors and the
    size bounds of the module doc (checked on the composed nodes, before any value is built)."""

    def construct_document(self, node: yaml.Node) -> Any:
        check_expanded_size(node)
        return super().construct_document(node)

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



def check_expanded_size(root: yaml.Node) -> None:
    """YamlLimitError when ``root`` expands (aliases followed) to more than MAX_YAML_NODES values,
    nests deeper than MAX_YAML_DEPTH, or holds an alias inside itself. Linear in the distinct
    nodes: the expanded size of a shared (aliased) node is computed once."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlLimitError("an alias refers to a node that contains it (a recursive alias)")
        if depth > MAX_YAML_DEPTH:
            raise YamlLimitError(f"nested more than {MAX_YAML_DEPTH} levels deep (voicegen.yamlio.MAX_YAML_DEPTH)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_YAML_NODES:
                raise YamlLimitError(f"expands to more than {MAX_YAML_NODES} values (voicegen.yamlio.MAX_YAML_NODES; "
                                     "aliases repeat what they name); a config needs far fewer")
        active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def parse_yaml(text: str, *, source: str = "<string>") -> Any:
    """Parse one YAML document with the safe loader; errors become one-line ConfigErrors."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: invalid YAML{_yaml_error_text(err)}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid YAML: nested too deeply to read (the limit is "
                          f"{MAX_YAML_DEPTH} levels, voicegen.yamlio.MAX_YAML_DEPTH)") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer of more digits than Python converts
        reason = " ".join(str(err).split(";")[0].split())
        raise ConfigError(f"{source}: invalid YAML: a value is out of range ({reason})") from None
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
    return _load_yaml(Path(path), chain=(), files=[0])


def check_config_file(path: Path, included_by: Path | None = None) -> None:
    """ConfigError (one line, the file unread) unless ``path`` is a regular .yaml/.yml file."""
    included = f" (included by {included_by})" if included_by is not None else ""
    if path.suffix.lower() not in CONFIG_SUFFIXES:  # refused unread: its content never reaches a message
        raise ConfigError(f"{path}{included}: not a config file name; configs and the files `{INCLUDE_KEY}:` "
                          f"names end in {' or '.join(CONFIG_SUFFIXES)}")
    require_regular_file(path, ConfigError, "config file not found", suffix=included)


def _load_yaml(path: Path, chain: tuple[Path, ...], files: list[int]) -> dict:
    files[0] += 1
    if files[0] > MAX_CONFIG_FILES:  # includes of includes multiply like aliases do
        raise ConfigError(f"{path}: a config may read at most {MAX_CONFIG_FILES} files through include: "
                          "(voicegen.yamlio.MAX_CONFIG_FILES); an include repeats or fans out")
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ConfigError(f"{path}: include cycle ({cycle}); remove one of the includes")
    included = f" (included by {chain[-1]})" if chain else ""
    check_config_file(path, chain[-1] if chain else None)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size} bytes, beyond the {MAX_CONFIG_BYTES >> 20} MiB a config file may hold "
                              "(voicegen.yamlio.MAX_CONFIG_BYTES)")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file ({' '.join(str(err).split())})") from None
    data = parse_yaml(text, source=str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}{included}: a config file must hold a mapping, got {type(data).__name__}")
    odd = [key for key in data if not (isinstance(key, str) and SETTING_NAME.match(key))]
    if odd:  # e.g. "root:$6$...:::" from a system file: never quoted back
        raise ConfigError(f"{path}{included}: not a voicegen config ({len(odd)} top-level key(s) are not setting "
                          "names; they are not shown)")
    includes = data.pop(INCLUDE_KEY, None)
    if includes is None:
        return data
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(name, str) for name in includes):
        raise ConfigError(f"{path}: '{INCLUDE_KEY}' must be a file name or a list of file names")
    merged: dict = {}
    for name in includes:
        merged = deep_merge(merged, _load_yaml(path.parent / Path(name).expanduser(), (*chain, resolved), files))
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
