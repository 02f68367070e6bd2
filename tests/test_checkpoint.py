"""Checkpoints and artifacts: exact round trips without pickle, pruning, and one clear error per damage."""

from __future__ import annotations

import hashlib
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import voicegen
from voicegen import checkpoint
from voicegen.checkpoint import (
    FORMAT_VERSION,
    Artifact,
    latest_checkpoint,
    list_checkpoints,
    load_artifact,
    load_state,
    load_training_checkpoint,
    read_artifact_meta,
    read_state_metadata,
    save_artifact,
    save_state,
    save_training_checkpoint,
)
from voicegen.errors import ArtifactError


def assert_same(a, b, where: str = "obj") -> None:
    """Recursive exact equality that also checks container, tensor and array types and dtypes."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b) or (a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
                                     and torch.equal(a.nan_to_num(), b.nan_to_num())), where
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def _tensors_of_every_dtype() -> dict:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 4, generator=g)
    out = {str(dt): base.to(dt) for dt in (torch.float32, torch.float64, torch.float16, torch.bfloat16)}
    out.update({str(dt): (base * 10).to(dt) for dt in (torch.int64, torch.int32, torch.int16, torch.int8)})
    out["uint8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    out["bool"] = base > 0
    out["uint16"] = torch.tensor([1, 65535], dtype=torch.int32).to(torch.uint16)
    out["complex64"] = torch.complex(base, -base)
    out["scalar"] = torch.tensor(2.5)
    out["empty"] = torch.empty(0, 3, dtype=torch.float16)
    out["transposed"] = base.t()  # non-contiguous
    out["nan_inf"] = torch.tensor([float("nan"), float("inf"), -0.0])
    return out


def test_nested_state_round_trip_keeps_types_and_dtypes(tmp_path) -> None:
    tensors = _tensors_of_every_dtype()
    state = {
        "tensors": tensors,
        "shared": [tensors["torch.float32"], tensors["torch.float32"][1], tensors["torch.float32"][:, 1:]],
        0: {1: "int keys", "n": None},
        "scalars": [1, -2**70, 2.5, -0.0, float("inf"), float("-inf"), float("nan"), True, False, "", "é"],
        "tuple": (1, (2.0, "x"), [], {}, ()),
        "numpy": (np.arange(6, dtype=np.float32).reshape(2, 3).T, np.array(3.5), np.float64(0.1),
                  np.int32(-4), np.bool_(True), np.array(["ab", "c"]), np.zeros((0, 2), dtype=np.int64),
                  np.arange(4, dtype=">i4")),
    }
    path = save_state(tmp_path / "state.safetensors", state, metadata={"note": "hello", "n": 3})
    assert_same(state, load_state(path))
    assert read_state_metadata(path) == {"note": "hello", "n": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["state.safetensors"]


def test_unstorable_values_name_their_place(tmp_path) -> None:
    with pytest.raises(TypeError, match=r"state\['a'\]\[1\]: cannot store a object"):
        save_state(tmp_path / "x.safetensors", {"a": [1, object()]})
    with pytest.raises(TypeError, match=r"state: dict keys must be str or int, got 1.5"):
        save_state(tmp_path / "x.safetensors", {1.5: 1})
    with pytest.raises(TypeError, match="numpy array of dtype object"):
        save_state(tmp_path / "x.safetensors", {"a": np.array([None])})
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def _train(model, optimizer, scheduler, batches) -> None:
    for x, y in batches:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: torch.optim.Adam(params, lr=1e-2, amsgrad=True),
        lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1, betas=(0.8, 0.99)),
        lambda params: torch.optim.SGD(params, lr=1e-2, momentum=0.9, nesterov=True),
    ],
    ids=["adam", "adamw", "sgd"],
)
def test_optimizer_and_scheduler_resume_bit_identical(tmp_path, make_optimizer) -> None:
    torch.manual_seed(0)
    batches = [(torch.randn(4, 3), torch.randn(4, 2)) for _ in range(6)]

    def build():
        model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
        optimizer = make_optimizer(model.parameters())
        warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2)
        decay = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[2])
        return model, optimizer, scheduler

    model, optimizer, scheduler = build()
    _train(model, optimizer, scheduler, batches[:3])
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    path = save_training_checkpoint(tmp_path, 3, state)
    _train(model, optimizer, scheduler, batches[3:])

    loaded = load_training_checkpoint(path)
    assert_same(optimizer.state_dict()["param_groups"][0]["params"], loaded["optimizer"]["param_groups"][0]["params"])
    model2, optimizer2, scheduler2 = build()
    model2.load_state_dict(loaded["model"])
    optimizer2.load_state_dict(loaded["optimizer"])
    scheduler2.load_state_dict(loaded["scheduler"])
    _train(model2, optimizer2, scheduler2, batches[3:])
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p, q)
    assert scheduler.get_last_lr() == scheduler2.get_last_lr()


def test_rng_states_round_trip_exactly(tmp_path) -> None:
    torch.manual_seed(1)
    np.random.seed(1)
    random.seed(1)
    generator = np.random.default_rng(5)
    np.random.standard_normal()  # leaves a cached gaussian in the legacy state
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
             "numpy_generator": generator.bit_generator.state}  # holds 128-bit python ints
    path = save_training_checkpoint(tmp_path, 0, state)
    expected = (torch.rand(5), np.random.standard_normal(5), [random.random() for _ in range(5)], generator.random(5))

    loaded = load_training_checkpoint(path)
    assert_same(state, loaded)
    torch.set_rng_state(loaded["torch"])
    np.random.set_state(loaded["numpy"])
    random.setstate(loaded["python"])
    fresh = np.random.default_rng()
    fresh.bit_generator.state = loaded["numpy_generator"]
    again = (torch.rand(5), np.random.standard_normal(5), [random.random() for _ in range(5)], fresh.random(5))
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1]) and expected[2] == again[2]
    assert np.array_equal(expected[3], again[3])


def test_training_checkpoints_are_pruned_to_keep_last(tmp_path) -> None:
    assert list_checkpoints(tmp_path) == [] and latest_checkpoint(tmp_path) is None
    for step in (100, 5, 30):
        save_training_checkpoint(tmp_path, step, {"step": step}, keep_last=2)
    folder = tmp_path / "checkpoints"
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000030.safetensors", "step_00000100.safetensors"]
    save_training_checkpoint(tmp_path, 7, {"step": 7}, keep_last=2)  # older than the rest: still kept
    assert [p.name for p in list_checkpoints(tmp_path)][0] == "step_00000007.safetensors"
    (folder / "step_00000007.safetensors").unlink()
    assert latest_checkpoint(tmp_path) == folder / "step_00000100.safetensors"
    assert load_training_checkpoint(latest_checkpoint(tmp_path)) == {"step": 100}
    assert read_state_metadata(latest_checkpoint(tmp_path)) == {
        "kind": "training_checkpoint", "format_version": FORMAT_VERSION,
        "voicegen_version": voicegen.__version__, "step": 100,
    }
    save_training_checkpoint(tmp_path, 123_456_789, {}, keep_last=None)  # 9 digits still sorts by step
    (folder / ".step_00000200.safetensors.abc.tmp.safetensors").write_bytes(b"")  # a crashed write
    assert [p.name for p in list_checkpoints(tmp_path)][-1] == "step_123456789.safetensors"
    assert len(list_checkpoints(tmp_path)) == 3
    with pytest.raises(ValueError, match="keep_last"):
        save_training_checkpoint(tmp_path, 1, {}, keep_last=0)


def _checkpoint_error(path: Path) -> str:
    with pytest.raises(ArtifactError) as info:
        load_training_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_training_checkpoint_errors(tmp_path, monkeypatch) -> None:
    path = save_training_checkpoint(tmp_path, 1, {"w": torch.randn(100)})
    assert _checkpoint_error(tmp_path / "nope.safetensors").endswith("training checkpoint not found; check the path")

    data = path.read_bytes()
    path.write_bytes(data[:-17])
    assert _checkpoint_error(path).startswith(f"{path}: cannot read training checkpoint (truncated")
    path.write_text("not a checkpoint")
    assert _checkpoint_error(path).startswith(f"{path}: cannot read training checkpoint (truncated")

    safetensors.torch.save_file({"t0": torch.zeros(1)}, str(path), metadata={"voicegen.format_version": "1"})
    assert _checkpoint_error(path).startswith(f"{path}: training checkpoint metadata is missing or invalid")

    header = {"voicegen.format_version": "1", "voicegen.structure": '{"type": "tensor", "key": "t9"}',
              "voicegen.metadata": "{}"}
    safetensors.torch.save_file({"t0": torch.zeros(1)}, str(path), metadata=header)
    assert "structure metadata is invalid" in _checkpoint_error(path)

    save_state(path, {"a": 1}, metadata={"kind": "something_else"})
    assert _checkpoint_error(path) == (f"{path}: not a training checkpoint (kind 'something_else'); "
                                       "pass a file from <run_dir>/checkpoints/")

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint, "FORMAT_VERSION", FORMAT_VERSION + 1)
        newer = save_training_checkpoint(tmp_path, 2, {})
    assert _checkpoint_error(newer) == (f"{newer}: written by a newer voicegen "
                                        f"(format {FORMAT_VERSION + 1} > {FORMAT_VERSION}); upgrade voicegen")


def _export(path: Path, **kwargs) -> tuple[Path, dict]:
    torch.manual_seed(0)
    gen = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.BatchNorm1d(4))
    gen(torch.randn(3, 2, 9))  # non-trivial running stats and an int64 num_batches_tracked
    weights = {"gen": gen.state_dict(), "post": {"scale": torch.tensor([0.5, 2.0])}}
    options = dict(kind="converter", weights=weights, config={"channels": [2, 4], "kernel": 3},
                   mel={"sample_rate": 16000, "n_mels": 80}, stats={"SF1": {"mean": torch.zeros(2), "std": np.ones(2)}},
                   speakers=["SF1", "TM1"], extra={"note": (1, 2)})
    options.update(kwargs)
    return save_artifact(path, **options), weights


def test_artifact_round_trip_and_metadata(tmp_path) -> None:
    path, weights = _export(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folder left
    art = load_artifact(path, expected_kind="converter")
    assert isinstance(art, Artifact) and art.kind == "converter" and art.path == path
    assert_same({k: dict(v) for k, v in weights.items()}, art.weights)
    assert art.config == {"channels": [2, 4], "kernel": 3} and art.mel == {"sample_rate": 16000, "n_mels": 80}
    assert art.stats == {"SF1": {"mean": [0.0, 0.0], "std": [1.0, 1.0]}} and art.speakers == ["SF1", "TM1"]
    assert art.extra == {"note": [1, 2]} and art.voicegen_version == voicegen.__version__
    meta = read_artifact_meta(path)
    assert meta["tensors"] == 8 and meta["format_version"] == FORMAT_VERSION and meta["modules"] == ["gen", "post"]
    assert meta["weights_sha256"] == hashlib.sha256((path / "weights.safetensors").read_bytes()).hexdigest()
    keys = safetensors.torch.load_file(str(path / "weights.safetensors")).keys()
    assert "gen.0.weight" in keys and "gen.1.num_batches_tracked" in keys


def test_fp16_export_loads_as_float32_within_fp16_tolerance(tmp_path) -> None:
    path, weights = _export(tmp_path / "half", dtype=torch.float16)
    stored = safetensors.torch.load_file(str(path / "weights.safetensors"))
    assert stored["gen.0.weight"].dtype == torch.float16
    art = load_artifact(path)
    for name, tensor in weights["gen"].items():
        loaded = art.weights["gen"][name]
        if tensor.is_floating_point():
            assert loaded.dtype == torch.float32
            assert torch.equal(loaded, tensor.half().float())
            torch.testing.assert_close(loaded, tensor, rtol=1e-3, atol=1e-4)
        else:
            assert loaded.dtype == tensor.dtype and torch.equal(loaded, tensor)
    assert load_artifact(path, dtype=None).weights["gen"]["0.weight"].dtype == torch.float16


def test_nested_bundles_and_overwrite(tmp_path) -> None:
    outer, _ = _export(tmp_path / "bundle")
    _export(outer / "vocoder", kind="vocoder")
    art = load_artifact(outer)
    assert art.subdir("vocoder", expected_kind="vocoder").kind == "vocoder"
    with pytest.raises(ArtifactError, match=r"bad nested artifact name '\.\./x'"):
        art.subdir("../x")
    with pytest.raises(ArtifactError, match=r"bundle: already exists; pass overwrite=True \(--overwrite\)"):
        _export(outer)
    _export(outer, kind="converter2", overwrite=True)
    assert read_artifact_meta(outer)["kind"] == "converter2"
    assert sorted(p.name for p in outer.iterdir()) == ["artifact.json", "weights.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    (tmp_path / "empty").mkdir()
    assert load_artifact(_export(tmp_path / "empty")[0]).kind == "converter"  # an empty folder is fine


def test_bad_export_inputs_write_nothing(tmp_path) -> None:
    with pytest.raises(ValueError, match="dot-free"):
        _export(tmp_path / "a", weights={"gen.x": {"w": torch.zeros(1)}})
    with pytest.raises(ValueError, match=r"stats.SF1\[0\]: nan cannot be stored in JSON"):
        _export(tmp_path / "a", stats={"SF1": [float("nan")]})
    with pytest.raises(ValueError, match="floating dtype"):
        _export(tmp_path / "a", dtype=torch.int8)
    assert list(tmp_path.iterdir()) == []


def _damage_json(path: Path, **changes) -> None:
    meta = json.loads((path / "artifact.json").read_text())
    meta.update(changes)
    (path / "artifact.json").write_text(json.dumps(meta))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGES = {
    "missing path": (lambda p: p.rename(p.parent / "elsewhere"), "{p}: artifact not found; check the path"),
    "file path": (lambda p: None, "{w}: is a file; pass the artifact folder"),
    "missing json": (lambda p: (p / "artifact.json").unlink(), "{p}: artifact.json is missing"),
    "missing weights": (lambda p: (p / "weights.safetensors").unlink(), "{p}: weights.safetensors is missing"),
    "invalid json": (lambda p: (p / "artifact.json").write_text("{not json"), "{j}: invalid JSON ("),
    "no version": (lambda p: _damage_json(p, format_version="1"), "{j}: missing or invalid 'format_version'"),
    "no kind": (lambda p: _damage_json(p, kind=None), "{j}: missing or invalid 'kind'"),
    "truncated": (lambda p: (p / "weights.safetensors").write_bytes((p / "weights.safetensors").read_bytes()[:-9]),
                  "{w}: cannot read weights (truncated or corrupt"),
    "tampered": (lambda p: _flip_last_byte(p / "weights.safetensors"),
                 "{w}: sha256 differs from artifact.json (tampered or corrupted); re-export or re-copy the model"),
    "newer": (lambda p: _damage_json(p, format_version=FORMAT_VERSION + 1),
              f"{{p}}: written by a newer voicegen (format {FORMAT_VERSION + 1} > {FORMAT_VERSION}); upgrade voicegen"),
    "wrong kind": (lambda p: None, "{p}: is a 'converter' artifact, expected 'vocoder'; pass the right model folder"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_artifact_errors(tmp_path, damage) -> None:
    path, _ = _export(tmp_path / "model")
    hurt, expected = DAMAGES[damage]
    hurt(path)
    target = path / "weights.safetensors" if damage == "file path" else path
    kind = "vocoder" if damage == "wrong kind" else None
    with pytest.raises(ArtifactError) as info:
        load_artifact(target, expected_kind=kind)
    message = str(info.value)
    assert message.startswith(expected.format(p=path, w=path / "weights.safetensors", j=path / "artifact.json"))
    assert "\n" not in message


def test_no_pickle_in_these_modules() -> None:
    package = Path(__file__).resolve().parent.parent / "voicegen"
    for name in ("checkpoint.py", "config.py"):
        text = (package / name).read_text()
        for forbidden in ("pickle", "torch.load", "torch.save"):
            assert forbidden not in text, f"{name} mentions {forbidden}"


def test_artifact_files_get_ordinary_permissions(tmp_path) -> None:
    import os
    import stat

    from voicegen.fileutil import current_umask

    path = save_artifact(tmp_path / "a", kind="x", weights={"m": {"w": torch.zeros(2)}}, config={})
    expected = 0o666 & ~current_umask()
    for name in ("weights.safetensors", "artifact.json"):
        assert stat.S_IMODE(os.stat(path / name).st_mode) == expected, name
