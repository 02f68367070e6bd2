"""Class 5: configs. ``include:`` never echoes a file that is not a config, YAML alias bombs and deep
nesting are bounded in the loader (before any value is built), and values quoted in messages are
cut without building their whole repr.
"""

from __future__ import annotations

import time

import pytest
from hostile import REPO_ROOT, one_error_line

from voicegen.cli import cli
from voicegen.config import (
    apply_overrides,
    load_config,
    load_yaml,
    parse_yaml,
)
from voicegen.config_types import short_repr
from voicegen.errors import ConfigError

SECRET = "root:$6$SECRETHASH:19000:0:99999:7:::"
TINY_VOCODER = REPO_ROOT / "recipes" / "vocoder16k" / "conf" / "tiny.yaml"


def _bomb(levels: int = 9, width: int = 9) -> str:
    """A flow list whose last item repeats the previous ``width`` times, ``levels`` deep (~width**levels)."""
    items = ["&a0 [" + ",".join(["x"] * width) + "]"]
    items += [f"&a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


@pytest.mark.parametrize("name, content", [
    ("secret.txt", SECRET + "\n"),              # a system file: refused by its name, never opened
    ("secret", SECRET + "\n"),
    ("shadow.yaml", SECRET + "\n"),             # even named .yaml: its keys are not setting names
    ("passwd.yml", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n"),
])
def test_include_never_echoes_a_file_that_is_not_a_config(tmp_path, name, content) -> None:
    (tmp_path / name).write_text(content)
    main = tmp_path / "main.yaml"
    main.write_text(f"include: {tmp_path / name}\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(main)
    message = str(err.value)
    assert f"(included by {main})" in message
    message = message.replace(str(tmp_path), "<tmp>")  # the path itself may hold "root" (pytest-of-root)
    assert "SECRET" not in message and "root" not in message and "bin/bash" not in message
    assert "\n" not in message


def test_include_of_a_secret_through_the_cli(runner, tmp_path) -> None:
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "inc.yaml").write_text(f"include: {tmp_path / 'secret.txt'}\n")
    result = runner.invoke(cli, ["train", "vocoder", "--config", str(tmp_path / "inc.yaml"), "--run-dir",
                                 str(tmp_path / "run")])
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "SECRETHASH" not in line and "end in .yaml or .yml" in line
    assert not (tmp_path / "run").exists()


def test_a_real_include_still_works(tmp_path) -> None:
    (tmp_path / "base.yaml").write_text("trainer: {max_steps: 3}\n")
    (tmp_path / "main.yaml").write_text(f"include: {TINY_VOCODER}\ntrainer: {{max_steps: 5}}\n")
    assert load_yaml(tmp_path / "main.yaml")["trainer"]["max_steps"] == 5


@pytest.mark.parametrize("text", [
    "a: " + _bomb(),                                     # 9**9 items from ~300 bytes
    "a: " + _bomb(levels=30, width=2),                   # 2**30 items
    f"trainer: {{max_steps: {_bomb()}}}",                # in a value that is then type-checked
])
def test_alias_bombs_are_refused_before_expansion(text) -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"expands to more than 100000 values \(voicegen.yamlio.MAX_YAML_NODES"):
        parse_yaml(text, source="bomb.yaml")
    assert time.perf_counter() - start < 2


def test_alias_bomb_in_a_config_file_through_the_cli(runner, tmp_path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(f"include: {TINY_VOCODER}\ntrainer: {{max_steps: {_bomb()}}}\n")
    assert len(path.read_bytes()) < 500
    result = runner.invoke(cli, ["train", "vocoder", "--config", str(path), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 1 and "MAX_YAML_NODES" in one_error_line(result.output)


def test_alias_bomb_in_a_set_override() -> None:
    from voicegen.train.vocoder import VocoderTrainConfig

    with pytest.raises(ConfigError, match=r"override 'trainer.max_steps=.*': invalid YAML: expands to more than"):
        apply_overrides({}, [f"trainer.max_steps={_bomb()}"], schema=VocoderTrainConfig)


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]", r"a recursive alias"),
    ("a: " + "[" * 100 + "]" * 100, r"nested more than 64 levels deep"),
    ("a: " + "[" * 5000 + "]" * 5000, r"nested too deeply to read|nested more than 64 levels"),
    ("a: " + "{b: " * 3000 + "1" + "}" * 3000, r"nested too deeply to read|nested more than 64 levels"),
    ("seed: " + "9" * 5000, r"a value is out of range \(Exceeds the limit \(4300 digits\)"),
])
def test_deep_recursive_and_oversized_values(text, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_yaml(text, source="x.yaml")


def test_short_repr_is_bounded_without_building_the_repr() -> None:
    value = ["x"] * 9
    for _ in range(9):  # 9**10 leaves if printed whole
        value = [value] * 9
    start = time.perf_counter()
    text = short_repr(value)
    assert time.perf_counter() - start < 0.1 and len(text) <= 60
    assert short_repr(10**100000).startswith("~2**")
    assert len(short_repr("s" * 10**6)) <= 60


def test_type_error_on_a_big_shared_structure_is_quick(tmp_path) -> None:
    from voicegen.train.vocoder import VocoderTrainConfig

    path = tmp_path / "c.yaml"
    path.write_text(f"include: {TINY_VOCODER}\ntrainer: {{max_steps: {_bomb(levels=4)}}}\n")  # 9**4: under the bound
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"'trainer.max_steps' must be int, got \[.{0,60} \(list\)$"):
        load_config(VocoderTrainConfig, path)
    assert time.perf_counter() - start < 2


def test_config_files_are_size_bounded(tmp_path) -> None:
    path = tmp_path / "big.yaml"
    with open(path, "wb") as handle:
        handle.truncate((1 << 20) + 1)
    with pytest.raises(ConfigError, match=r"beyond the 1 MiB a config file may hold \(voicegen.yamlio.MAX_CONFIG_BYTES\)"):
        load_yaml(path)


def test_include_cycle_is_still_named(tmp_path) -> None:
    (tmp_path / "a.yaml").write_text("include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\n")
    with pytest.raises(ConfigError, match=r"include cycle \(a.yaml -> b.yaml -> a.yaml\)"):
        load_yaml(tmp_path / "a.yaml")


def test_include_fan_out_is_bounded(tmp_path) -> None:
    """Ten files each including the next one ten times would read 10**10 files."""
    for level in range(10):
        names = ", ".join([f"l{level + 1}.yaml"] * 10) if level < 9 else ""
        (tmp_path / f"l{level}.yaml").write_text(f"include: [{names}]\n" if names else "trainer: {max_steps: 1}\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"at most 64 files through include: \(voicegen.yamlio.MAX_CONFIG_FILES\)"):
        load_yaml(tmp_path / "l0.yaml")
    assert time.perf_counter() - start < 2
