"""The default models shipped in the package: found by speaker name, consistent, convert real speech,
and the pitch-true vocoder keeps (and moves) pitch as promised."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio.f0 import f0_rows, shift_lf0
from voicegen.audio.features import compute_mel
from voicegen.audio.io import load_audio
from voicegen.checkpoint import load_artifact, read_artifact_meta
from voicegen.eval.f0 import world_f0
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, resolve, vocoder_path
from voicegen.infer.convert import Converter
from voicegen.infer.vocode import load_vocoder

DEFAULT_BUNDLE = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"


def test_default_bundle_is_shipped_as_fp16_with_matching_contracts() -> None:
    meta = read_artifact_meta(DEFAULT_BUNDLE)
    assert meta["kind"] == "cyclegan" and meta["speakers"] == ["SF1", "TM1"]
    vocoder_meta = read_artifact_meta(vocoder_path(DEFAULT_BUNDLE))
    assert vocoder_meta["kind"] == "vocoder"
    assert meta["mel"] == vocoder_meta["mel"]
    for path in (DEFAULT_BUNDLE, vocoder_path(DEFAULT_BUNDLE)):
        artifact = load_artifact(path, dtype=None)  # as stored
        assert {t.dtype for params in artifact.weights.values() for t in params.values()} == {
            __import__("torch").float16}
        assert (path / "weights.safetensors").stat().st_size < 16_000_000  # small enough to ship


def test_target_name_alone_finds_the_default_bundle(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("VOICEGEN_MODELS", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path, source, target = resolve("TM1")
    assert (path, source, target) == (DEFAULT_BUNDLE, "SF1", "TM1")


def median_f0(wav: np.ndarray) -> float:
    f0, _ = world_f0(np.asarray(wav, dtype=np.float64), 16000, "harvest")
    return float(np.median(f0[f0 > 0]))


def test_default_bundle_converts_a_held_out_clip_to_the_target_pitch(sf1_clip, tmp_path) -> None:
    converter = Converter(DEFAULT_BUNDLE, "cpu")
    assert converter.vocoder.needs_f0  # the pitch-true vocoder, with the explicit F0 path
    result = converter.convert_file(sf1_clip, tmp_path / "out.wav", "SF1", "TM1", plot=tmp_path / "out.png")
    wav, rate = sf.read(str(tmp_path / "out.wav"), dtype="float32")
    assert rate == 16000 and len(wav) == sf.info(str(sf1_clip)).frames
    assert np.isfinite(wav).all() and 0.01 < np.abs(wav).max() <= 1.0
    assert (tmp_path / "out.png").is_file()
    # --pitch auto (the default) moves the female source's F0 by the stats' mean difference (about
    # -10 semitones): the output's median F0 lands within a semitone of that move.
    stats = converter.bundle.stats
    expected = 12 * (stats["TM1"].log_f0_mean - stats["SF1"].log_f0_mean) / math.log(2)
    assert result.pitch_shift == pytest.approx(expected) and expected < -8
    moved = 12 * math.log2(median_f0(wav) / median_f0(load_audio(sf1_clip)))
    assert abs(moved - expected) < 1.0


def test_the_default_vocoder_keeps_a_known_f0_contour_within_20_cents() -> None:
    vocoder = load_vocoder(vocoder_path(DEFAULT_BUNDLE))
    assert vocoder.generator_kind == "source_filter" and vocoder.f0_config is not None
    n = 2 * 16000
    f0 = 140.0 * 2 ** (np.sin(2 * np.pi * 0.7 * np.arange(n) / 16000) / 3)  # +-4 semitones of vibrato
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    tone = (0.3 * sum(np.sin(k * phase) / k for k in range(1, 30) if k * 140 * 1.3 < 8000)).astype(np.float32)
    out = vocoder.wav_from_mel(compute_mel(tone, vocoder.feature_config),
                               f0_rows(tone, 16000, 256, vocoder.f0_config))
    track, times = world_f0(out.astype(np.float64), 16000, "harvest")
    truth = np.interp(times * 16000, np.arange(n), f0)
    inner = (track > 0) & (times > 0.1) & (times < 1.9)
    cents = 1200 * np.abs(np.log2(track[inner] / truth[inner]))
    assert inner.mean() > 0.8 and np.median(cents) < 20


def test_the_pitch_knob_moves_f0_by_the_request(sf1_clip) -> None:
    vocoder = load_vocoder(vocoder_path(DEFAULT_BUNDLE))
    wav = load_audio(sf1_clip)
    rows = f0_rows(wav, 16000, 256, vocoder.f0_config)
    up = vocoder.wav_from_mel(compute_mel(wav, vocoder.feature_config), shift_lf0(rows, 4.0))
    source, _ = world_f0(wav.astype(np.float64), 16000, "harvest")
    moved, _ = world_f0(up.astype(np.float64), 16000, "harvest")
    n = min(len(source), len(moved))
    both = (source[:n] > 0) & (moved[:n] > 0)
    assert abs(np.median(1200 * np.log2(moved[:n][both] / source[:n][both])) - 400) < 30


@pytest.mark.parametrize("bundle", ["vcc2016_sf1_tm1", "vae16k"])
def test_converters_speak_through_the_vocoder_tuned_on_their_outputs(bundle, sf1_clip, tm1_clip, tmp_path) -> None:
    """Both conversion bundles link `vocoder16k_vc` (vocoder16k fine-tuned on the converters' own
    outputs), and it renders a conversion closer to the real target recording than the plain
    vocoder does: MCD of the bundled SF1 clip converted to TM1 against TM1's recording of the same
    sentence (a validation pair of the fine-tune: 0.2-0.3 dB lower when shipped)."""
    import shutil

    from voicegen.eval.evaluate import evaluate_folders

    path = PACKAGE_MODELS_DIR / bundle
    assert vocoder_path(path) == PACKAGE_MODELS_DIR / "vocoder16k_vc"
    plain = tmp_path / "plain"
    shutil.copytree(path, plain)
    shutil.copytree(PACKAGE_MODELS_DIR / "vocoder16k", plain / "vocoder")  # a copied vocoder wins over the link
    assert vocoder_path(plain) == plain / "vocoder"
    mcd = {}
    for name, model in (("tuned", path), ("plain", plain)):
        Converter(model, "cpu", runtime="torch").convert_file(sf1_clip, tmp_path / name / "x.wav", "SF1", "TM1")
        shutil.copy(tm1_clip, tmp_path / f"ref_{name}.wav")
        report = evaluate_folders(tmp_path / name / "x.wav", tmp_path / f"ref_{name}.wav", None,
                                  speaker_similarity=False, naturalness=False, progress=False)
        mcd[name] = report.rows[0]["mcd_db"]
    assert mcd["tuned"] < mcd["plain"] - 0.1, mcd
