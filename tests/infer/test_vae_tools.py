"""Spectrogram VAE inference: latents, speaker-conditioned conversion through `convert`, traversal, audit."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import REPO_ROOT, SAMPLES, isolate_search  # tests/infer/conftest.py (pytest puts it on sys.path)

from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
from voicegen.errors import AudioError, ConfigError
from voicegen.infer.bundles import package_bundle, resolve
from voicegen.infer.convert import Converter
from voicegen.infer.vae import load_vae_bundle
from voicegen.infer.vae_tools import AUDIT_CSV, AUDIT_PNG, KL_RANK_PNG, TRAVERSE_PNG, audit, traverse_file

VAE_TINY = REPO_ROOT / "recipes" / "vae16k" / "conf" / "tiny.yaml"


@pytest.fixture(scope="module")
def vae_bundle(tiny_models, tmp_path_factory):
    """A tiny 2-speaker VAE (a few steps on the bundled SF1/TM1 clips) bundled with the tiny vocoder."""
    from voicegen.config import load_config
    from voicegen.train.vae import VAETrainConfig, train_vae

    root = tmp_path_factory.mktemp("vae")
    for speaker in ("SF1", "TM1"):
        (root / "data" / speaker).mkdir(parents=True)
        for clip in SAMPLES.glob(f"{speaker}_*.wav"):
            (root / "data" / speaker / clip.name).write_bytes(clip.read_bytes())
    overrides = [f"data.speakers={{SF1: {root / 'data' / 'SF1'}, TM1: {root / 'data' / 'TM1'}}}",
                 "trainer.device=cpu"]
    export = train_vae(load_config(VAETrainConfig, VAE_TINY, overrides), root / "run")
    return package_bundle(export, tiny_models.vocoder, root / "bundles" / "vae_sf1_tm1")


def test_encode_decode_convert_and_score_shapes(vae_bundle, sf1_clip) -> None:
    vae = load_vae_bundle(vae_bundle)
    assert vae.speakers == ("SF1", "TM1") and vae.latent_channels == 4
    mel = compute_mel(load_audio(sf1_clip, 16000), vae.feature_config)
    posterior = vae.encode(mel)
    frames = mel.shape[1]
    assert posterior.mean.shape == (4, -(-frames // 4))
    back = vae.decode(posterior.mean, "TM1", frames)
    assert back.shape == mel.shape and back.dtype == np.float32
    assert not np.allclose(back, vae.decode(posterior.mean, "SF1", frames))  # the speaker changes the output
    np.testing.assert_array_equal(vae.convert_mel(mel, "SF1", "TM1"), back)
    score = vae.score(mel)
    assert score.speaker in vae.speakers and score.frames == frames
    assert score.neg_elbo == pytest.approx(score.rec + score.kl) and score.kl > 0
    with pytest.raises(ConfigError, match=r"^speaker 'XX' is not in this VAE \(speakers: SF1, TM1\)$"):
        vae.decode(posterior.mean, "XX")
    with pytest.raises(ConfigError, match="^source and target are both 'TM1'"):
        vae.convert_mel(mel, "TM1", "TM1")


def test_convert_uses_a_vae_bundle_and_prefers_cyclegans_by_name(vae_bundle, tiny_models, sf1_clip, tmp_path,
                                                                   monkeypatch) -> None:
    converter = Converter(vae_bundle)
    result = converter.convert_file(sf1_clip, tmp_path / "out.wav", "SF1", "TM1")
    assert sf.info(str(result.out)).frames == sf.info(str(sf1_clip)).frames
    dirs = isolate_search(monkeypatch, tmp_path / "search")
    dirs.env.mkdir(parents=True)
    (dirs.env / "vae").symlink_to(vae_bundle)
    assert resolve("TM1") == (dirs.env / "vae", "SF1", "TM1")  # the only converter holding TM1
    (dirs.env / "cyclegan").symlink_to(tiny_models.bundle)
    assert resolve("TM1") == (dirs.env / "cyclegan", "SF1", "TM1")  # trained for the pair: preferred
    assert resolve("TM1", model=dirs.env / "vae")[0] == dirs.env / "vae"


def test_traverse_writes_a_grid_a_kl_ranking_and_a_wav_per_cell(vae_bundle, sf1_clip, tmp_path) -> None:
    vae = load_vae_bundle(vae_bundle)
    converter = Converter(vae_bundle)
    out = tmp_path / "trav"
    result = traverse_file(vae, converter.vocoder, sf1_clip, dims=[0, 2], lo=-2, hi=2, steps=3, out_dir=out)
    assert result.values == [-2.0, 0.0, 2.0] and result.speaker in ("SF1", "TM1")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [TRAVERSE_PNG, KL_RANK_PNG] + [f"dim{d:02d}_{i}.wav" for d in (0, 2) for i in range(3)])
    lo, hi = (load_audio(out / f"dim00_{i}.wav") for i in (0, 2))
    assert len(lo) == len(hi) == compute_mel(load_audio(sf1_clip), vae.feature_config).shape[1] * 256
    assert np.abs(lo - hi).max() > 1e-4  # sweeping the dimension changes the sound
    with pytest.raises(AudioError, match="already exists and is not empty; pass --overwrite"):
        traverse_file(vae, None, sf1_clip, dims=[0], lo=-1, hi=1, steps=2, out_dir=out)
    with pytest.raises(ConfigError, match=r"^--dims must name latent dimensions in 0\.\.3; got \[4\]$"):
        traverse_file(vae, None, sf1_clip, dims=[4], lo=-1, hi=1, steps=2, out_dir=tmp_path / "x")


def test_audit_ranks_unreadable_clips_first_and_writes_csv_and_png(vae_bundle, samples_dir,
                                                                             tmp_path) -> None:
    corpus = tmp_path / "corpus"
    for clip in ("SF1_200001.wav", "TM1_200001.wav"):
        (corpus / "speech").mkdir(parents=True, exist_ok=True)
        (corpus / "speech" / clip).write_bytes((samples_dir / clip).read_bytes())
    (corpus / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    rows = audit(load_vae_bundle(vae_bundle), corpus, tmp_path / "report")
    assert [r.path.name for r in rows][0] == "broken.wav" and rows[0].error and np.isinf(rows[0].neg_elbo)
    assert all(np.isfinite(r.neg_elbo) for r in rows[1:]) and len(rows) == 3
    with open(tmp_path / "report" / AUDIT_CSV) as f:
        table = list(csv.DictReader(f))
    assert [row["rank"] for row in table] == ["1", "2", "3"] and table[0]["file"] == "broken.wav"
    assert float(table[1]["neg_elbo_per_frame"]) >= float(table[2]["neg_elbo_per_frame"])
    assert (tmp_path / "report" / AUDIT_PNG).stat().st_size > 1000


def test_cli_latent_encode_traverse_and_audit(vae_bundle, sf1_clip, tmp_path) -> None:
    from voicegen.cli import cli

    runner = CliRunner()
    z_path = tmp_path / "z.npy"
    result = runner.invoke(cli, ["latent", "encode", str(sf1_clip), "--out", str(z_path), "--model", str(vae_bundle)])
    assert result.exit_code == 0, result.output
    z = np.load(z_path)
    assert z.dtype == np.float32 and z.shape[0] == 4 and result.output.strip().endswith(
        f"latents 4 x {z.shape[1]} (dims x latent frames)")
    result = runner.invoke(cli, ["latent", "encode", str(sf1_clip), "--out", str(z_path), "--model", str(vae_bundle)])
    assert result.exit_code == 1 and "z.npy: already exists; pass --overwrite" in result.output
    result = runner.invoke(cli, ["latent", "traverse", str(sf1_clip), "--out", str(tmp_path / "t"), "--steps", "2",
                                 "--speaker", "TM1", "--model", str(vae_bundle)])
    assert result.exit_code == 0, result.output
    assert "(dims " in result.output and "in TM1's voice" in result.output
    assert len(list((tmp_path / "t").glob("*.wav"))) == 6  # the 3 highest-KL dims x 2 values
    save_audio(tmp_path / "clips" / "a.wav", load_audio(sf1_clip)[:16000], 16000)
    result = runner.invoke(cli, ["audit", str(tmp_path / "clips"), "--out", str(tmp_path / "audit"),
                                 "--model", str(vae_bundle), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "1 clips, most atypical first" in result.output and "  1. " in result.output
    meta = json.loads((vae_bundle / "artifact.json").read_text())
    assert meta["kind"] == "vae" and meta["speakers"] == ["SF1", "TM1"]
