"""Tiny real models for the conversion tests, trained once per test session.

``build_tiny_models(root)`` trains the tiny CycleGAN recipe (SF1 <-> TM1 on the bundled clips) and
the tiny vocoder recipe, then packages them into a converter bundle; it is idempotent (a finished
build under ``root`` is reused), so tests/test_cli_convert.py shares the same folder.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CYCLEGAN_TINY = REPO_ROOT / "recipes" / "vcc2016" / "conf" / "tiny.yaml"
VOCODER_TINY = REPO_ROOT / "recipes" / "vocoder16k" / "conf" / "tiny.yaml"
SAMPLES = REPO_ROOT / "samples" / "audio"
SPEAKERS = ("SF1", "TM1")
DONE_MARKER = "BUILD_DONE"
SHARED_FOLDER = "tiny_models"


@dataclass(frozen=True)
class TinyModels:
    """Exports of the tiny recipes and the bundle made from them (``root/bundles/sf1_tm1``)."""

    converter: Path
    vocoder: Path
    bundle: Path
    log_f0_mean: dict[str, float]


def build_tiny_models(root: Path) -> TinyModels:
    """Train (or reuse) the tiny converter and vocoder under ``root`` and package a bundle."""
    from voicegen.config import load_config
    from voicegen.infer.bundles import package_bundle
    from voicegen.train.cyclegan import CycleGANTrainConfig, train_cyclegan
    from voicegen.train.vocoder import VocoderTrainConfig, train_vocoder

    converter, vocoder = root / "cyclegan" / "export", root / "vocoder" / "export"
    bundle = root / "bundles" / "sf1_tm1"
    if not (root / DONE_MARKER).is_file():
        shutil.rmtree(root, ignore_errors=True)
        for speaker in SPEAKERS:
            folder = root / "data" / speaker
            folder.mkdir(parents=True)
            for clip in SAMPLES.glob(f"{speaker}_*.wav"):
                shutil.copy(clip, folder / clip.name)
        overrides = [f"data.dir_a={root / 'data' / SPEAKERS[0]}", f"data.dir_b={root / 'data' / SPEAKERS[1]}"]
        train_cyclegan(load_config(CycleGANTrainConfig, CYCLEGAN_TINY, overrides), root / "cyclegan")
        clips = ", ".join(str(SAMPLES / f"{speaker}_200001.wav") for speaker in SPEAKERS)
        config = load_config(VocoderTrainConfig, VOCODER_TINY, [f"data.train=[{clips}]", "trainer.device=cpu"])
        train_vocoder(config, root / "vocoder")
        package_bundle(converter, vocoder, bundle)
        (root / DONE_MARKER).write_text("ok\n")
    stats = json.loads((converter / "artifact.json").read_text())["stats"]
    return TinyModels(converter=converter, vocoder=vocoder, bundle=bundle,
                      log_f0_mean={name: stats[name]["log_f0_mean"] for name in SPEAKERS})


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    """The tiny SF1 <-> TM1 converter, vocoder and bundle (trained once per session, a few seconds)."""
    return build_tiny_models(tmp_path_factory.getbasetemp() / SHARED_FOLDER)


@dataclass(frozen=True)
class SearchDirs:
    """Isolated search folders: ``env`` is $VOICEGEN_MODELS, ``user`` the XDG user folder, ``package`` the defaults."""

    env: Path
    user: Path
    package: Path


def isolate_search(monkeypatch: pytest.MonkeyPatch, root: Path) -> SearchDirs:
    """Point every bundle search folder at (not yet created) folders under ``root``."""
    from voicegen.infer import bundles

    dirs = SearchDirs(env=root / "env", user=root / "xdg" / "voicegen" / "models", package=root / "package")
    monkeypatch.setenv(bundles.ENV_MODELS, str(dirs.env))
    monkeypatch.setenv(bundles.ENV_XDG_DATA_HOME, str(root / "xdg"))
    monkeypatch.setattr(bundles, "PACKAGE_MODELS_DIR", dirs.package)
    return dirs


@pytest.fixture
def search_dirs(monkeypatch, tmp_path) -> SearchDirs:
    """Bundle search folders isolated from the developer's environment (folders not created)."""
    return isolate_search(monkeypatch, tmp_path / "search")


@pytest.fixture
def only_package_models(monkeypatch, tmp_path):
    """Nothing from the developer's own model folders: only the package's defaults are installed."""
    monkeypatch.setenv("VOICEGEN_MODELS", str(tmp_path / "no_env_models"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
