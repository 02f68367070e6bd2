"""The shipped image models work on a fresh clone, and the recipes' configs and fixed splits hold on the
developer data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from voicegen.cli import cli
from voicegen.config import load_config
from voicegen.eval.image_eval import ImageEvalConfig
from voicegen.eval.image_metrics import accuracy, classify
from voicegen.formats.image import load_classifier, load_image_gan
from voicegen.image.datasets import load_source
from voicegen.image.io import load_image, save_image
from voicegen.infer.image import (
    DEFAULT_MODELS,
    PACKAGE_IMAGE_MODELS,
    resolve_image_model,
    sample_images,
)
from voicegen.train.image.classifier import ClassifierTrainConfig
from voicegen.train.image.cyclegan import ImageCycleGANTrainConfig
from voicegen.train.image.gan import ImageGANTrainConfig
from voicegen.train.image.vae import ImageVAETrainConfig

REPO = Path(__file__).resolve().parents[2]
MAX_MODEL_BYTES = 2_000_000
# The shipped conditional GAN must draw the requested digit this often (the shipped classifier judges).
MIN_CLASS_ACCURACY = 0.9


def test_shipped_models_are_small_fp16_artifacts() -> None:
    shipped = sorted(p.name for p in PACKAGE_IMAGE_MODELS.iterdir())
    assert set(DEFAULT_MODELS.values()) <= set(shipped)
    for name in shipped:
        meta = json.loads((PACKAGE_IMAGE_MODELS / name / "artifact.json").read_text())
        size = (PACKAGE_IMAGE_MODELS / name / "weights.safetensors").stat().st_size
        assert meta["dtype"] == "float16" and meta["extra"]["image"] == {"channels": 1, "size": 28}
        assert size < MAX_MODEL_BYTES, f"{name}: {size} bytes"


def test_sample_class_7_out_of_the_box_draws_sevens(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["image", "sample", "--class", "7", "--out", str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    assert "64 samples (class 7)" in result.output
    assert load_image(tmp_path / "grid.png").shape == (1, 4 * (8 * 30 + 2), 4 * (8 * 30 + 2))
    images, _ = sample_images(load_image_gan(resolve_image_model(None, "gan")), class_name="7", n=100, seed=1)
    classifier = load_classifier(resolve_image_model(None, "classifier"))
    assert accuracy(classify(classifier.model, images)[0], torch.full((100,), 7)) >= MIN_CLASS_ACCURACY


def test_shipped_vae_and_cyclegan_run_out_of_the_box(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["image", "traverse", "--n-dims", "3", "--steps", "5", "--scale", "1",
                                      "--out", str(tmp_path / "t.png")])
    assert result.exit_code == 0, result.output
    assert load_image(tmp_path / "t.png").shape == (1, 3 * 30 + 2, 5 * 30 + 2)
    digit = -torch.ones(1, 40, 40)
    digit[:, 8:32, 18:23] = 1.0  # a "1", larger than 28 px: resized to the model's size
    save_image(tmp_path / "one.png", digit)
    result = CliRunner().invoke(cli, ["image", "translate", str(tmp_path / "one.png"), str(tmp_path / "uci.png")])
    assert result.exit_code == 0 and "(mnist -> uci)" in result.output, result.output
    assert load_image(tmp_path / "uci.png").shape == (1, 28, 28)


@pytest.mark.shared_data
def test_recipe_configs_load_with_fixed_splits(shared_data) -> None:
    mnist = shared_data / "images" / "mnist" / "mnist_t10k_dev.npz"
    uci = shared_data / "images" / "uci_digits" / "uci_digits_8x8.npz"
    conf = REPO / "recipes" / "mnist" / "conf"
    paths = [f"data.train.path={mnist}", f"data.val.path={mnist}"]
    for schema, name in ((ClassifierTrainConfig, "classifier"), (ImageVAETrainConfig, "vae"),
                         (ImageGANTrainConfig, "gan"), (ImageGANTrainConfig, "cgan")):
        config = load_config(schema, conf / f"{name}.yaml", paths)
        assert (config.data.train.start, config.data.train.stop, config.data.val.stop) == (0, 6500, 7000), name
    assert load_config(ImageGANTrainConfig, conf / "cgan.yaml", paths).conditional
    train = load_source(load_config(ClassifierTrainConfig, conf / "classifier.yaml", paths).data.train)
    assert train.images.shape == (6500, 1, 28, 28) and train.labels.unique().tolist() == list(range(10))
    evaluation = load_config(ImageEvalConfig, conf / "eval.yaml", [f"test.path={mnist}", f"reference.path={mnist}"])
    assert (evaluation.test.start, evaluation.test.stop) == (7000, 8000)  # held out from every training run
    cyclegan = load_config(ImageCycleGANTrainConfig, REPO / "recipes" / "digits_cyclegan" / "conf" / "cpu.yaml",
                           [f"data.a.path={mnist}", f"data.val_a.path={mnist}", f"data.b.path={uci}",
                            f"data.val_b.path={uci}"])
    uci_train = load_source(cyclegan.data.b)
    assert uci_train.images.shape == (1400, 1, 28, 28) and uci_train.images[:, :, :4].max() == -1.0
    assert cyclegan.data.a.stop == 6500 and cyclegan.data.val_b.stop == 1597
