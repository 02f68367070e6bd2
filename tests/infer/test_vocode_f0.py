"""A pitch-conditioned (source_filter) vocoder end to end: format round trip, F0 contract refusals,
chunked == whole, audio and .npy inputs, the --pitch knob."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from voicegen.audio.f0 import F0Config, f0_rows
from voicegen.audio.features import compute_mel, get_preset
from voicegen.audio.io import load_audio
from voicegen.cli import cli
from voicegen.errors import ArtifactError, AudioError, ConfigError
from voicegen.formats.vocoder import KIND, read_vocoder_meta, save_vocoder
from voicegen.infer.vocode import load_vocoder, vocode_to
from voicegen.models.vocoder import build_generator, frame_phase
from voicegen.train.vocoder import fill_generator_contract

VC16K = get_preset("vc16k")
TINY = {"channels": 32, "intermediate_channels": 64, "n_blocks": 2}


@pytest.fixture(scope="module")
def source_filter(tmp_path_factory):
    """(generator, float32 export, F0 settings) of a tiny untrained source-filter vocoder."""
    config = fill_generator_contract("source_filter", TINY, VC16K)
    torch.manual_seed(5)
    generator = build_generator("source_filter", config).eval()
    f0 = F0Config(f0_min=60.0, f0_max=600.0)
    path = save_vocoder(generator, "source_filter", config, VC16K, tmp_path_factory.mktemp("sf") / "v", f0=f0,
                        dtype=None)
    return generator, path, f0


def test_round_trip_keeps_weights_outputs_and_f0_settings(source_filter, sf1_clip) -> None:
    generator, path, f0 = source_filter
    meta = json.loads((path / "artifact.json").read_text())
    assert meta["kind"] == KIND and meta["config"]["generator_kind"] == "source_filter"
    assert meta["config"]["f0"] == f0.to_dict() and meta["config"]["generator"]["sample_rate"] == 16000
    assert read_vocoder_meta(path).f0 == f0
    vocoder = load_vocoder(path)
    assert vocoder.needs_f0 and vocoder.f0_config == f0 and vocoder.in_rows == 82
    wav = load_audio(sf1_clip)
    mel, rows = compute_mel(wav, VC16K), f0_rows(wav, 16000, 256, f0)
    x = torch.cat([torch.from_numpy(mel), torch.from_numpy(rows),
                   frame_phase(torch.from_numpy(rows[:1]), torch.zeros(1), 16000, 256)], dim=0)
    with torch.no_grad():
        expected = generator(x[None])[0, 0].numpy()
    np.testing.assert_allclose(vocoder.wav_from_mel(mel, rows), expected, atol=1e-5)


def test_chunked_equals_whole(source_filter, flac_clip) -> None:
    _, path, f0 = source_filter
    vocoder = load_vocoder(path)
    wav = load_audio(flac_clip)
    mel, rows = compute_mel(wav, VC16K), f0_rows(wav, 16000, 256, f0)
    whole = vocoder.wav_from_mel(mel, rows, chunk_frames=10_000)
    chunked = vocoder.wav_from_mel(mel, rows, chunk_frames=37)
    assert whole.shape == (mel.shape[1] * 256,)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_f0_contract_refusals(source_filter, tmp_path) -> None:
    _, path, _ = source_filter
    vocoder = load_vocoder(path)
    mel = np.full((80, 20), -6.0, np.float32)
    with pytest.raises(ValueError, match="this vocoder is pitch-conditioned: pass the F0 rows"):
        vocoder.wav_from_mel(mel)
    with pytest.raises(ValueError, match=r"expected F0 rows shaped \(2, 20\), got \(2, 19\)"):
        vocoder.wav_from_mel(mel, np.zeros((2, 19), np.float32))
    np.save(tmp_path / "mel.npy", mel)
    with pytest.raises(AudioError, match=r"pitch-conditioned: expected a log-mel plus F0 rows shaped \(82, "
                                         r"frames\), got shape \(80, 20\); make it with `voicegen features --f0`"):
        vocode_to(tmp_path / "mel.npy", tmp_path / "o.wav", vocoder)
    meta = json.loads((path / "artifact.json").read_text())
    del meta["config"]["f0"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "artifact.json").write_text(json.dumps(meta))
    (broken / "weights.safetensors").write_bytes((path / "weights.safetensors").read_bytes())
    with pytest.raises(ArtifactError, match="a source_filter vocoder needs config.f0"):
        load_vocoder(broken)
    with pytest.raises(ConfigError, match="a source_filter vocoder needs F0 settings"):
        save_vocoder(build_generator("source_filter", fill_generator_contract("source_filter", TINY, VC16K)),
                     "source_filter", fill_generator_contract("source_filter", TINY, VC16K), VC16K, tmp_path / "x")


def test_audio_and_features_npy_inputs_give_the_same_audio(source_filter, sf1_clip, tmp_path) -> None:
    _, path, _ = source_filter
    runner = CliRunner()
    result = runner.invoke(cli, ["features", str(sf1_clip), "--out", str(tmp_path / "m.npy"), "--f0"])
    assert result.exit_code == 0, result.output
    assert "log-mel 80 + 2 F0 rows" in result.output and np.load(tmp_path / "m.npy").shape[0] == 82
    # the default F0 settings of `features --f0` differ from this vocoder's range: use its own here
    vocoder = load_vocoder(path)
    a = vocode_to(sf1_clip, tmp_path / "a.wav", vocoder)
    rows = f0_rows(load_audio(sf1_clip), 16000, 256, vocoder.f0_config)
    np.save(tmp_path / "own.npy", np.concatenate([compute_mel(load_audio(sf1_clip), VC16K), rows]))
    b = vocode_to(tmp_path / "own.npy", tmp_path / "b.wav", vocoder)
    wav_a, wav_b = load_audio(a), load_audio(b)
    assert wav_a.shape == load_audio(sf1_clip).shape
    np.testing.assert_allclose(wav_a[:len(wav_b)], wav_b[:len(wav_a)], atol=2e-4)


def test_pitch_knob_cli(source_filter, sf1_clip, tmp_path) -> None:
    _, path, _ = source_filter
    runner = CliRunner()
    ok = runner.invoke(cli, ["vocode", str(sf1_clip), str(tmp_path / "up.wav"), "--model", str(path),
                             "--pitch", "4"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(cli, ["vocode", str(sf1_clip), str(tmp_path / "x.wav"), "--model", str(path),
                              "--pitch", "30"])
    assert bad.exit_code == 1 and bad.output == "Error: --pitch must be a number of semitones within +-24, got 30.0\n"


def test_a_mel_only_vocoder_refuses_the_pitch_knob(sf1_clip, tmp_path) -> None:
    config = fill_generator_contract("istft", TINY, VC16K)
    path = save_vocoder(build_generator("istft", config), "istft", config, VC16K, tmp_path / "mel_only")
    result = CliRunner().invoke(cli, ["vocode", str(sf1_clip), str(tmp_path / "o.wav"), "--model", str(path),
                                      "--pitch", "-3"])
    assert result.exit_code == 1
    assert result.output == (f"Error: {path} is mel-only (istft): it cannot move pitch; use a pitch-conditioned "
                             "(source_filter) vocoder\n")
    assert not (tmp_path / "o.wav").exists()


def test_the_f0_tracker_can_be_chosen_at_inference(source_filter, sf1_clip, tmp_path) -> None:
    _, path, f0 = source_filter
    vocoder = load_vocoder(path)
    harvest = vocoder.with_f0_method("harvest")
    assert harvest.f0_config == F0Config(method="harvest", f0_min=60.0, f0_max=600.0)
    assert vocoder.f0_config == f0 and vocoder.with_f0_method(None) is vocoder
    result = CliRunner().invoke(cli, ["vocode", str(sf1_clip), str(tmp_path / "h.wav"), "--model", str(path),
                                      "--f0-method", "harvest"])
    assert result.exit_code == 0, result.output
    config = fill_generator_contract("istft", TINY, VC16K)
    mel_only = load_vocoder(save_vocoder(build_generator("istft", config), "istft", config, VC16K, tmp_path / "m"))
    with pytest.raises(ConfigError, match="--f0-method harvest: this vocoder \\(istft\\) takes no F0"):
        mel_only.with_f0_method("harvest")
