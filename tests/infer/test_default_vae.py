"""The default VAE shipped in the package: loads, converts, and its audit puts planted outliers on top."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
from voicegen.checkpoint import read_artifact_meta
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path
from voicegen.infer.vae import load_vae_bundle
from voicegen.infer.vae_tools import audit

DEFAULT_VAE = PACKAGE_MODELS_DIR / "vae16k"
PLANTED = ("noise.wav", "silence.wav", "corrupted.wav", "other_speaker.wav", "truncated.wav")
RATE = 16000


def plant_outliers(folder: Path, samples_dir: Path) -> None:
    """White noise, near-silence, a clipped and clicking speech clip, an unseen speaker (LJ Speech),
    and a truncated wav, among the real speech already in ``folder``."""
    rng = np.random.default_rng(0)
    save_audio(folder / "noise.wav", (0.1 * rng.standard_normal(3 * RATE)).astype(np.float32), RATE)
    save_audio(folder / "silence.wav", (1e-5 * rng.standard_normal(3 * RATE)).astype(np.float32), RATE)
    damaged = np.clip(30 * load_audio(samples_dir / "SF1_200001.wav", RATE), -1, 1)
    damaged[::400] = 1.0
    save_audio(folder / "corrupted.wav", damaged.astype(np.float32), RATE)
    save_audio(folder / "other_speaker.wav", load_audio(samples_dir / "LJ001-0001.wav", RATE), RATE)
    (folder / "truncated.wav").write_bytes((samples_dir / "SF1_200001.wav").read_bytes()[:30])


def test_default_vae_is_small_fp16_speaker_conditioned_and_uses_the_shipped_vocoder() -> None:
    meta = read_artifact_meta(DEFAULT_VAE)
    assert meta["kind"] == "vae" and meta["speakers"] == ["SF1", "TM1", "LS78"]
    assert (DEFAULT_VAE / "weights.safetensors").stat().st_size < 2_000_000
    assert vocoder_path(DEFAULT_VAE) == PACKAGE_MODELS_DIR / "vocoder16k_vc"
    vae = load_vae_bundle(DEFAULT_VAE)
    assert vae.model.config.n_speakers == 3


@pytest.mark.filterwarnings("ignore::voicegen.audio.io.AudioWarning")
def test_audit_ranks_planted_outliers_above_bundled_speech(samples_dir, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    for name in ("SF1_100001.wav", "SF1_200001.wav", "TM1_100082.wav", "TM1_200001.wav", "78-368-0000.flac"):
        (corpus / "speech").mkdir(parents=True, exist_ok=True)
        (corpus / "speech" / name).write_bytes((samples_dir / name).read_bytes())
    plant_outliers(corpus, samples_dir)
    rows = audit(load_vae_bundle(DEFAULT_VAE), corpus, tmp_path / "report")
    assert {r.path.name for r in rows[:len(PLANTED)]} == set(PLANTED)
    assert rows[0].path.name == "truncated.wav"  # unreadable: first of all


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore::voicegen.audio.io.AudioWarning")
def test_audit_ranks_planted_outliers_above_held_out_vcc2016_speech(shared_data, samples_dir, tmp_path) -> None:
    corpus = tmp_path / "corpus"
    for speaker in ("SF1", "TM1"):  # 20 clips never trained on
        for clip in sorted((shared_data / "vcc2016" / "dev_parallel" / speaker).glob("*.wav")):
            (corpus / speaker).mkdir(parents=True, exist_ok=True)
            (corpus / speaker / clip.name).write_bytes(clip.read_bytes())
    plant_outliers(corpus, samples_dir)
    rows = audit(load_vae_bundle(DEFAULT_VAE), corpus, tmp_path / "report")
    assert {r.path.name for r in rows[:len(PLANTED)]} == set(PLANTED)
