"""Class 4: crafted artifacts. JSON size and nesting are bounded before parsing, a broken bundle is
skipped with a warning naming it (never taking the others down), and weights of a dtype the models
do not use (integers, or NaN/Inf values) are refused by the one loader every family goes through.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import torch
from hostile import CONVERTER, PACKAGE_MODELS, VOCODER, copy_artifact
from safetensors.torch import load_file, save_file

from voicegen.artifact_meta import MAX_JSON_BYTES, read_artifact_meta
from voicegen.cli import cli
from voicegen.errors import ArtifactError


def _broken(folder, kind: str):
    folder.mkdir(parents=True)
    meta = folder / "artifact.json"
    if kind == "deep":
        meta.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "deep_object":
        meta.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    elif kind == "huge":
        with open(meta, "wb") as handle:
            handle.truncate(MAX_JSON_BYTES + 1)  # sparse: no 16 MiB written
    elif kind == "binary":
        meta.write_bytes(bytes(range(256)) * 4)
    elif kind == "not_object":
        meta.write_text("[1, 2, 3]")
    elif kind == "wrong_types":
        meta.write_text(json.dumps({"kind": "cyclegan", "speakers": 5, "extra": [], "format_version": 1}))
    elif kind == "folder":
        meta.mkdir()
    return folder


@pytest.mark.parametrize("kind, message", [
    ("deep", r"JSON nested more than 64 levels deep \(the limit, voicegen.artifact_meta.MAX_JSON_DEPTH\)"),
    ("deep_object", r"JSON nested more than 64 levels deep"),
    ("huge", r"bytes, beyond the 16 MiB a metadata file may hold \(voicegen.artifact_meta.MAX_JSON_BYTES\)"),
    ("binary", r"invalid JSON"),
    ("not_object", r"not a JSON object"),
    ("folder", r"invalid JSON"),
])
def test_read_artifact_meta_bounds(tmp_path, kind, message) -> None:
    folder = _broken(tmp_path / kind, kind)
    start = time.perf_counter()
    with pytest.raises(ArtifactError, match=message):
        read_artifact_meta(folder)
    assert time.perf_counter() - start < 5


def test_models_lists_the_good_bundles_and_warns_once_per_broken_one(runner, search_dirs) -> None:
    kinds = ["deep", "huge", "binary", "not_object", "wrong_types", "folder"]
    for kind in kinds:
        _broken(search_dirs / f"bad_{kind}", kind)
    (search_dirs / "good").symlink_to(CONVERTER)
    result = runner.invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning: skipped ")]
    assert sorted(line.split()[2].rstrip(":").rsplit("/", 1)[-1] for line in warned) == sorted(f"bad_{k}" for k in kinds)
    assert "vcc2016_sf1_tm1" in result.output and str(search_dirs / "good") in result.output


def test_convert_without_model_still_resolves_beside_a_broken_bundle(search_dirs) -> None:
    from voicegen.infer.bundles import BundleWarning, resolve

    _broken(search_dirs / "deep", "deep")
    (search_dirs / "good").symlink_to(CONVERTER)
    with pytest.warns(BundleWarning, match=r"skipped .*deep: .*MAX_JSON_DEPTH"):
        path, source, target = resolve("TM1")
    assert (path, source, target) == (search_dirs / "good", "SF1", "TM1")


def _retyped(tmp_path, source, cast) -> object:
    artifact = copy_artifact(source, tmp_path / "tampered")
    weights = artifact / "weights.safetensors"
    save_file({key: cast(key, value) for key, value in load_file(weights).items()}, str(weights))
    meta = json.loads((artifact / "artifact.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()  # a careful attacker
    (artifact / "artifact.json").write_text(json.dumps(meta))
    return artifact


@pytest.mark.parametrize("cast, message", [
    (lambda k, v: (v.float() * 1000).to(torch.int32), r"is int32, a dtype voicegen models do not use"),
    (lambda k, v: (v.float() * 1000).to(torch.int64), r"is int64, a dtype voicegen models do not use"),
    (lambda k, v: v > 0, r"is bool, a dtype voicegen models do not use"),
    (lambda k, v: (v.float() * 100).to(torch.uint8), r"is uint8, a dtype"),
    (lambda k, v: v.float().fill_(float("nan")), r"holds NaN or Inf values"),
    (lambda k, v: v.float().fill_(float("inf")), r"holds NaN or Inf values"),
])
def test_weights_of_a_dtype_the_model_does_not_use(tmp_path, cast, message) -> None:
    from voicegen.infer.vocode import load_vocoder

    with pytest.raises(ArtifactError, match=message):
        load_vocoder(_retyped(tmp_path, VOCODER, cast), "cpu")


def test_one_integer_tensor_among_floats_is_enough(tmp_path) -> None:
    from voicegen.infer.bundles import load_converter

    first = []

    def cast(key, value):
        if not first:
            first.append(key)
            return value.to(torch.int16)
        return value

    with pytest.raises(ArtifactError, match=r"weights.safetensors: tensor '.*' is int16"):
        load_converter(_retyped(tmp_path, CONVERTER, cast))


def test_batch_norm_counters_stay_allowed() -> None:
    from voicegen.formats.image import load_image_gan

    gan = load_image_gan(PACKAGE_MODELS / "image" / "mnist_dcgan")  # holds int64 num_batches_tracked
    assert gan.generator is not None


def test_deep_json_inside_a_training_checkpoint_header(tmp_path) -> None:
    from voicegen.checkpoint import load_state

    path = tmp_path / "state.safetensors"
    save_file({"t0": torch.zeros(1)}, str(path), metadata={
        "voicegen.format_version": "1", "voicegen.structure": "[" * 100_000 + "]" * 100_000,
        "voicegen.metadata": "{}"})
    with pytest.raises(ArtifactError, match="nested more than 64 levels"):
        load_state(path)
