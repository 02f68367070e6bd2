"""`voicegen image ...` end to end on tiny synthetic images: train every model kind for two steps,
export from a checkpoint, sample, translate, traverse and evaluate; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from voicegen.checkpoint import read_artifact_meta
from voicegen.cli import cli
from voicegen.image.io import load_image, save_image

TRAINER = {"max_steps": 2, "batch_size": 8, "log_every": 1, "val_every": 2, "val_batch_size": 12,
           "checkpoint_every": 1, "device": "cpu", "progress": False, "tensorboard": False}


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _configs(root: Path, npz: Path) -> dict[str, Path]:
    train = {"path": str(npz), "start": 0, "stop": 36}
    val = {"path": str(npz), "start": 36, "stop": 48}
    data = {"train": train, "val": val}
    common = {"image_size": 16, "channels": 1, "trainer": TRAINER}
    gan = {**common, "data": data, "n_classes": 4,
           "generator": {"preset": "mnist", "base_channels": 4, "latent_dim": 8, "class_dim": 2},
           "discriminator": {"preset": "mnist", "base_channels": 4}}
    return {
        "classifier": _write(root / "classifier.yaml", {**common, "data": {**data, "shift": 1}, "n_classes": 4,
                                                        "model": {"preset": "mnist", "base_channels": 4,
                                                                  "feature_dim": 8}}),
        "vae": _write(root / "vae.yaml", {**common, "data": data, "beta": 2.0,
                                          "model": {"preset": "image28", "channels": [4, 8], "latent_channels": 3}}),
        "gan": _write(root / "gan.yaml", {**gan, "conditional": False}),
        "cgan": _write(root / "cgan.yaml", {**gan, "conditional": True, "discriminator": {
            **gan["discriminator"], "auxiliary_classifier": True}}),
        "cyclegan": _write(root / "cyclegan.yaml", {
            **common, "domain_a": "bright", "domain_b": "dim",
            "data": {"a": train, "b": {**train, "value_max": 400}, "val_a": val, "val_b": {**val, "value_max": 400}},
            "generator": {"preset": "cpu", "base_channels": 4, "n_residual": 1},
            "discriminator": {"preset": "cpu", "base_channels": 4, "max_channels": 8, "n_layers": 2},
            "identity_steps": 1}),
        "eval": _write(root / "eval.yaml", {"test": val, "reference": train, "seen": train,
                                            "test_b": {**val, "value_max": 400},
                                            "samples": 40, "elbo_samples": 2}),
    }


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_npz) -> dict[str, Path]:
    """Run folders of every image model kind, trained for two steps on the tiny images."""
    root = tmp_path_factory.mktemp("image_runs")
    configs = _configs(root, tiny_npz)
    runs = {kind: root / kind for kind in ("classifier", "vae", "gan", "cgan", "cyclegan")}
    classifier = runs["classifier"] / "export"
    out = invoke("image", "train", "classifier", "--config", configs["classifier"], "--run-dir", runs["classifier"])
    assert f"exported classifier to {classifier}" in out and "val/accuracy" in out
    invoke("image", "train", "vae", "--config", configs["vae"], "--run-dir", runs["vae"])
    for kind in ("gan", "cgan", "cyclegan"):
        invoke("image", "train", kind, "--config", configs[kind], "--run-dir", runs[kind],
               "--set", f"classifier={classifier}")
    return {**runs, "configs": root, "classifier_export": classifier}


def test_train_writes_artifacts_logs_and_sample_grids(trained) -> None:
    kinds = {"classifier": "image_classifier", "vae": "image_vae", "gan": "image_gan", "cgan": "image_gan",
             "cyclegan": "image_cyclegan"}
    for run, kind in kinds.items():
        meta = read_artifact_meta(trained[run] / "export")
        assert meta["kind"] == kind and meta["dtype"] == "float16"
        assert meta["extra"]["image"] == {"channels": 1, "size": 16}
    assert read_artifact_meta(trained["cgan"] / "export")["extra"]["classes"] == ["0", "1", "2", "3"]
    assert "classes" not in read_artifact_meta(trained["gan"] / "export")["extra"]
    assert read_artifact_meta(trained["cyclegan"] / "export")["extra"]["domains"] == ["bright", "dim"]
    assert len(read_artifact_meta(trained["vae"] / "export")["extra"]["latent_kl"]) == 3
    assert read_artifact_meta(trained["vae"] / "export")["modules"] == ["vae"]
    records = [json.loads(line) for line in (trained["cgan"] / "metrics.jsonl").read_text().splitlines()]
    val = next(r for r in records if "val/accuracy" in r)
    assert 0.0 <= val["val/accuracy"] <= 1.0 and val["val/frechet"] >= 0.0
    assert any("gen/cls_g" in r for r in records)  # the auxiliary classifier's loss was trained
    assert "val/accuracy_b2a" in (trained["cyclegan"] / "metrics.jsonl").read_text()
    for run, tag in (("vae", "val_reconstruction"), ("cgan", "val_samples"), ("cyclegan", "val_translations")):
        assert (trained[run] / "samples" / "step_00000002" / f"{tag}.png").is_file(), run


def test_sample_translate_traverse_and_export(trained, tmp_path, tiny_npz) -> None:
    out = invoke("image", "sample", "--model", trained["cgan"] / "export", "--class", "2", "-n", "6",
                 "--columns", "3", "--scale", "1", "--out", tmp_path / "two.png")
    assert "6 samples (class 2)" in out
    assert load_image(tmp_path / "two.png").shape == (1, 2 * 18 + 2, 3 * 18 + 2)
    invoke("image", "sample", "--model", trained["cgan"] / "export", "--scale", "2", "--out", tmp_path / "all.png")
    assert load_image(tmp_path / "all.png").shape == (1, 2 * (4 * 18 + 2), 2 * (8 * 18 + 2))  # a row per class
    out = invoke("image", "traverse", "--model", trained["vae"] / "export", "--dims", "0,2", "--steps", "3",
                 "--scale", "1", "--out", tmp_path / "t.png")
    assert "2 latent dims x 3 steps" in out and load_image(tmp_path / "t.png").shape == (1, 2 * 18 + 2, 3 * 18 + 2)
    digits = np.load(tiny_npz)["x"][:3]
    for i, digit in enumerate(digits):
        save_image(tmp_path / "in" / ("sub" if i else ".") / f"{i}.png", digit[None] / 127.5 - 1)
    out = invoke("image", "translate", tmp_path / "in", tmp_path / "out", "--model", trained["cyclegan"] / "export",
                 "--direction", "b2a")
    assert "3 images" in out and "(dim -> bright)" in out
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == \
        ["0.png", "sub/1.png", "sub/2.png"]
    refused = CliRunner().invoke(cli, ["image", "translate", str(tmp_path / "in"), str(tmp_path / "out"),
                                       "--model", str(trained["cyclegan"] / "export")])
    assert refused.exit_code == 1 and "already exists (and 2 more); pass --overwrite" in refused.output
    out = invoke("image", "export", "cgan", "--run-dir", trained["cgan"], "--step", "1", "--out", tmp_path / "c1")
    meta = read_artifact_meta(tmp_path / "c1")
    assert meta["kind"] == "image_gan" and meta["extra"]["classes"] == ["0", "1", "2", "3"]
    invoke("image", "export", "vae", "--run-dir", trained["vae"], "--out", tmp_path / "v")
    assert read_artifact_meta(tmp_path / "v")["extra"]["latent_kl"]


def test_eval_reports_the_figures(trained, tmp_path) -> None:
    eval_config = trained["configs"] / "eval.yaml"
    classifier = f"classifier={trained['classifier_export']}"
    out = invoke("image", "eval", "gan", "--model", trained["cgan"] / "export", "--config", eval_config,
                 "--set", classifier, "--out", tmp_path / "gan.json")
    figures = json.loads((tmp_path / "gan.json").read_text())["figures"]
    assert {"accuracy", "frechet", "frechet_floor_real_vs_test", "classifier_accuracy_real_test"} <= set(figures)
    assert "accuracy" in out and 0 <= figures["accuracy"] <= 1 and figures["frechet"] > 0
    invoke("image", "eval", "gan", "--model", trained["gan"] / "export", "--config", eval_config, "--set", classifier,
           "--out", tmp_path / "dcgan.json")
    assert "accuracy" not in json.loads((tmp_path / "dcgan.json").read_text())["figures"]
    invoke("image", "eval", "vae", "--model", trained["vae"] / "export", "--config", eval_config,
           "--out", tmp_path / "vae.json")
    vae = json.loads((tmp_path / "vae.json").read_text())["figures"]
    # the importance-weighted bound is never below the ELBO of the same draws
    assert vae["test_elbo"] < 0 and vae["test_log_px_iw"] >= vae["test_elbo"] - 1e-3
    assert vae["test_kl"] >= 0 and "seen_elbo" in vae
    invoke("image", "eval", "cyclegan", "--model", trained["cyclegan"] / "export", "--config", eval_config,
           "--set", classifier, "--out", tmp_path / "cyc.json")
    assert "accuracy_dim_to_bright" in json.loads((tmp_path / "cyc.json").read_text())["figures"]


def test_errors_are_one_line(trained, tmp_path) -> None:
    configs = trained["configs"]
    cases = [
        (["image", "train", "gan", "--config", configs / "cgan.yaml"], "sets conditional: true; use `voicegen image "
                                                                       "train cgan`"),
        (["image", "sample", "--model", trained["gan"] / "export", "--class", "3", "--out", tmp_path / "x.png"],
         "this GAN is unconditional; drop --class"),
        (["image", "sample", "--model", trained["cgan"] / "export", "--class", "9", "--out", tmp_path / "x.png"],
         "unknown class '9'; classes: 0, 1, 2, 3"),
        (["image", "sample", "--model", "no_such_model", "--out", tmp_path / "x.png"],
         "no_such_model: no such model folder, nor a shipped image model"),
        (["image", "traverse", "--model", trained["gan"] / "export", "--out", tmp_path / "x.png"],
         "is a 'image_gan' artifact, expected 'image_vae'"),
        (["image", "train", "vae", "--config", configs / "vae.yaml", "--set", "model.latent_channel=3"],
         "unknown key"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli, [str(a) for a in args])
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
