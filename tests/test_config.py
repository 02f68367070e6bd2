"""Typed configs: YAML <-> nested dataclasses with strict keys/types, includes and --set overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from voicegen.config import (
    apply_overrides,
    from_dict,
    load_config,
    load_yaml,
    parse_yaml,
    save_yaml,
    to_dict,
)
from voicegen.errors import ConfigError


@dataclass
class OptimConfig:
    kind: Literal["adam", "adamw"] = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)


@dataclass
class TrainerConfig:
    max_steps: int = 100
    lr_scheduler: str | None = None
    amp: bool = False
    loss_weights: dict[str, float] = field(default_factory=lambda: {"mel": 45.0})
    optimizers: dict[str, OptimConfig] = field(default_factory=dict)


@dataclass
class ModelConfig:
    channels: list[int] = field(default_factory=lambda: [32, 64])
    n_mels: int = 80

    def __post_init__(self) -> None:
        if self.n_mels <= 0:
            raise ValueError(f"n_mels must be positive, got {self.n_mels}")


@dataclass
class ExperimentConfig:
    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    out_dir: Path | None = None
    vocoder: ModelConfig | None = None
    freeze: list[str] | None = None


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_dataclass_yaml_dataclass(tmp_path) -> None:
    config = ExperimentConfig(
        name="1e-3",  # looks like a float: must come back as the string
        model=ModelConfig(channels=[4, 8, 16], n_mels=40),
        trainer=TrainerConfig(
            max_steps=7, lr_scheduler="yes", amp=True, loss_weights={"mel": 1.0, "kl": 1e-5},
            optimizers={"gen": OptimConfig("adamw", 1e-3, (0.5, 0.9))},
        ),
        out_dir=Path("runs/a"),
    )
    path = save_yaml(config, tmp_path / "sub" / "config.yaml", header="resolved config\nof a test")
    assert path.read_text().startswith("# resolved config\n# of a test\nname: '1e-3'\n")
    loaded = load_config(ExperimentConfig, path)
    assert loaded == config
    assert isinstance(loaded.trainer.optimizers["gen"].betas, tuple)
    assert to_dict(loaded)["trainer"]["optimizers"]["gen"]["betas"] == [0.5, 0.9]
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yaml"]  # no temp files left


def test_defaults_fill_missing_and_empty_sections() -> None:
    config = from_dict(ExperimentConfig, {"name": "x", "trainer": None, "model": {"n_mels": 20}})
    assert config == ExperimentConfig(name="x", model=ModelConfig(n_mels=20))


def test_include_deep_merges_and_including_file_wins(tmp_path) -> None:
    _write(tmp_path / "base.yaml", "name: base\ntrainer:\n  max_steps: 10\n  amp: true\n"
           "  loss_weights: {mel: 1.0, adv: 2.0}\nmodel:\n  channels: [1, 2, 3]\n")
    _write(tmp_path / "more.yaml", "trainer:\n  max_steps: 15\n  lr_scheduler: cosine\n")
    exp = _write(tmp_path / "exp" / "exp.yaml", "include: [../base.yaml, ../more.yaml]\n"
                 "trainer:\n  loss_weights: {adv: 5}\nmodel:\n  channels: [4]\n")
    assert load_yaml(exp) == {
        "name": "base",
        "trainer": {"max_steps": 15, "amp": True, "loss_weights": {"mel": 1.0, "adv": 5},
                    "lr_scheduler": "cosine"},
        "model": {"channels": [4]},
    }
    single = _write(tmp_path / "single.yaml", "include: base.yaml\nname: mine\n")
    assert load_yaml(single)["name"] == "mine"
    assert load_yaml(single)["trainer"]["max_steps"] == 10


def test_include_cycle_is_an_error(tmp_path) -> None:
    a = _write(tmp_path / "a.yaml", "include: b.yaml\nname: a\n")
    _write(tmp_path / "b.yaml", "include: a.yaml\n")
    with pytest.raises(ConfigError, match=r"include cycle \(a.yaml -> b.yaml -> a.yaml\)"):
        load_yaml(a)
    selfish = _write(tmp_path / "self.yaml", "include: self.yaml\n")
    with pytest.raises(ConfigError, match="include cycle"):
        load_yaml(selfish)
    missing = _write(tmp_path / "m.yaml", "include: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"nowhere.yaml: config file not found"):
        load_yaml(missing)


def test_unknown_key_names_dotted_key_and_file(tmp_path) -> None:
    path = _write(tmp_path / "config.yaml", "name: x\ntrainer:\n  lr_sheduler: cosine\n")
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, path)
    assert str(info.value) == (
        f"{path}: unknown key 'trainer.lr_sheduler' (did you mean 'lr_scheduler'?) "
        "(known: max_steps, lr_scheduler, amp, loss_weights, optimizers)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"trainer": {"amp": "yes"}}, "'trainer.amp' must be bool, got 'yes' (str) (write true or false)"),
        ({"trainer": {"amp": 1}}, "'trainer.amp' must be bool, got 1 (int)"),
        ({"trainer": {"max_steps": 1.5}}, "'trainer.max_steps' must be int, got 1.5 (float)"),
        ({"trainer": {"max_steps": True}}, "'trainer.max_steps' must be int, got True (bool)"),
        ({"trainer": {"lr_scheduler": 3}}, "'trainer.lr_scheduler' must be str or null, got 3 (int)"),
        ({"trainer": {"loss_weights": {"mel": "x"}}}, "'trainer.loss_weights.mel' must be float, got 'x'"),
        ({"trainer": {"optimizers": {"g": {"kind": "sgd"}}}},
         "'trainer.optimizers.g.kind' must be one of 'adam', 'adamw'; got 'sgd'"),
        ({"trainer": {"optimizers": {"g": {"betas": [0.9]}}}},
         "'trainer.optimizers.g.betas' must be a list of 2 items (tuple[float, float]); got [0.9]"),
        ({"model": {"channels": [1, "a"]}}, "'model.channels[1]' must be int, got 'a' (str)"),
        ({"model": {"channels": 8}}, "'model.channels' must be list[int], got 8 (int)"),
        ({"model": [1]}, "'model' must be a mapping (ModelConfig), got [1] (list)"),
        ({"model": {"n_mels": -1}}, "'model': n_mels must be positive, got -1"),
        ({"name": 5}, "'name' must be str, got 5 (int) (quote it)"),
        ({"freeze": "gen"}, "'freeze' must be list[str] or null, got 'gen' (str)"),
        ({"freeze": ["gen", 1]}, "'freeze[1]' must be str, got 1 (int)"),
        ({"vocoder": {"n_mel": 3}}, "unknown key 'vocoder.n_mel' (did you mean 'n_mels'?)"),
        ({"vocoder": 3}, "'vocoder' must be a mapping (ModelConfig) or null, got 3 (int)"),
    ],
)
def test_type_errors_name_key_type_and_value(data, message) -> None:
    with pytest.raises(ConfigError) as info:
        from_dict(ExperimentConfig, {"name": "x", **data}, source="exp.yaml")
    assert str(info.value).startswith(f"exp.yaml: {message}")
    assert "\n" not in str(info.value)


def test_ints_are_accepted_for_floats_and_missing_required_key() -> None:
    config = from_dict(ExperimentConfig, {"name": "x", "trainer": {"optimizers": {"g": {"lr": 1}}}})
    lr = config.trainer.optimizers["g"].lr
    assert lr == 1.0 and type(lr) is float
    with pytest.raises(ConfigError, match=r"^c.yaml: missing required key 'name'$"):
        from_dict(ExperimentConfig, {}, source="c.yaml")
    with pytest.raises(ConfigError, match=r"'\(top level\)' must be a mapping"):
        from_dict(ExperimentConfig, ["name"])


def test_yaml_dialect_booleans_floats_and_duplicates(tmp_path) -> None:
    assert parse_yaml("a: 1e-3\nb: yes\nc: true\nd: NO\ne: 10\nf: -.inf\n") == {
        "a": 0.001, "b": "yes", "c": True, "d": "NO", "e": 10, "f": float("-inf"),
    }
    path = _write(tmp_path / "dup.yaml", "name: a\nname: b\n")
    with pytest.raises(ConfigError, match=r"dup.yaml: invalid YAML at line 2, column 1: found duplicate key 'name'"):
        load_yaml(path)
    listy = _write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping, got list"):
        load_yaml(listy)


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['echo hacked']\n",
        "name: !!python/object:pathlib.Path {}\n",
        "name: !!python/name:os.system\n",
    ],
)
def test_python_tags_are_refused(tmp_path, text) -> None:
    path = _write(tmp_path / "evil.yaml", text)
    with pytest.raises(ConfigError, match=r"invalid YAML at line 1.*python tags are not allowed"):
        load_yaml(path)
    with pytest.raises(ConfigError, match=r"^override .name=!!python"):
        apply_overrides({}, [f"name={text.split(': ', 1)[1].strip()}"])


def test_overrides_of_int_float_bool_list_null_and_nested() -> None:
    data = {"name": "x", "trainer": {"max_steps": 10, "lr_scheduler": "cosine"}}
    overrides = [
        "trainer.max_steps=5", "trainer.optimizers.gen.lr=1e-3", "trainer.optimizers.gen.betas=[0.5, 0.9]",
        "trainer.amp=true", "model.channels=[8, 16]", "trainer.lr_scheduler=null",
        "out_dir=runs/x", "trainer.loss_weights.kl=0.5", "name = a=b", "vocoder.n_mels=20",
    ]
    result = apply_overrides(data, overrides, schema=ExperimentConfig)
    assert data == {"name": "x", "trainer": {"max_steps": 10, "lr_scheduler": "cosine"}}  # not mutated
    assert result == {
        "name": "a=b",
        "trainer": {"max_steps": 5, "lr_scheduler": None, "amp": True, "loss_weights": {"kl": 0.5},
                    "optimizers": {"gen": {"lr": 0.001, "betas": [0.5, 0.9]}}},
        "model": {"channels": [8, 16]},
        "out_dir": "runs/x",
        "vocoder": {"n_mels": 20},
    }
    config = from_dict(ExperimentConfig, result)
    assert config.trainer.optimizers["gen"] == OptimConfig(lr=0.001, betas=(0.5, 0.9))
    assert config.out_dir == Path("runs/x") and config.vocoder == ModelConfig(n_mels=20)
    assert apply_overrides({}, ["any.path.at=all"]) == {"any": {"path": {"at": "all"}}}  # no schema


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("trainer.lr_sheduler=cosine",
         "override 'trainer.lr_sheduler=cosine': unknown key 'trainer.lr_sheduler' (did you mean 'lr_scheduler'?)"),
        ("trainer.amp.x=1", "override 'trainer.amp.x=1': 'trainer.amp' is a bool, not a section"),
        ("trainer.max_steps", "override 'trainer.max_steps': expected KEY=VALUE, e.g. trainer.max_steps=1000"),
        ("trainer..amp=true", "override 'trainer..amp=true': the key must be a dotted path"),
        ("trainer.amp=yes",
         "override 'trainer.amp=yes': 'trainer.amp' must be bool, got 'yes' (str) (write true or false)"),
        ("trainer.max_steps=[1", "override 'trainer.max_steps=[1': invalid YAML"),
    ],
)
def test_bad_overrides_are_errors(item, message) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides({"name": "x"}, [item], schema=ExperimentConfig)
    assert str(info.value).startswith(message)


def test_override_into_a_value_that_is_not_a_section() -> None:
    with pytest.raises(ConfigError, match=r"'trainer' is 3, not a section"):
        apply_overrides({"trainer": 3}, ["trainer.amp=true"])


def test_load_config_applies_overrides(tmp_path) -> None:
    path = _write(tmp_path / "c.yaml", "name: x\ntrainer:\n  max_steps: 10\n")
    config = load_config(ExperimentConfig, path, ("trainer.max_steps=3", "model.n_mels=64"))
    assert config == ExperimentConfig(name="x", model=ModelConfig(n_mels=64), trainer=TrainerConfig(max_steps=3))


def test_to_dict_rejects_non_configs() -> None:
    with pytest.raises(TypeError, match="dataclass instance or a dict"):
        to_dict(ExperimentConfig)
    assert to_dict({"a": (1, Path("p"))}) == {"a": [1, "p"]}
    assert dataclasses.asdict(OptimConfig()) == {**to_dict(OptimConfig()), "betas": (0.8, 0.99)}


def test_sources_use_only_safe_yaml_and_no_pickle() -> None:
    source = (Path(__file__).resolve().parent.parent / "voicegen" / "config.py").read_text()
    for forbidden in ("yaml.load(", "unsafe_load", "yaml.Loader", "FullLoader", "UnsafeLoader", "pickle"):
        assert forbidden not in source
