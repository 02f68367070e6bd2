"""Converting files with a tiny real bundle: lengths, wiring, pitch pre-shift, refusals, folders."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio.f0 import f0_rows
from voicegen.audio.io import load_audio
from voicegen.audio.logmel import log_mel as compute_mel  # the inference front end (numpy)
from voicegen.audio.pitch import log_f0
from voicegen.errors import AudioError, ConfigError
from voicegen.infer.batch.manifest import MANIFEST_NAME
from voicegen.infer.commands import run_convert
from voicegen.infer.convert import Converter, parse_pitch, shift_pitch
from voicegen.infer.options import BatchOptions, ConvertOptions
from voicegen.infer.vocode import clip_guard

RATE = 16000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PCM16_STEP = 1.0 / 32768


@pytest.fixture(scope="module")
def converter(tiny_models) -> Converter:
    return Converter(tiny_models.bundle, "cpu")


def auto_shift(tiny_models, source: str, target: str) -> float:
    means = tiny_models.log_f0_mean
    return 12 * (means[target] - means[source]) / math.log(2)


def test_convert_file_keeps_the_duration_and_draws_a_plot(converter, tiny_models, sf1_clip, tmp_path) -> None:
    out, plot = tmp_path / "deep" / "out.wav", tmp_path / "out.png"
    result = converter.convert_file(sf1_clip, out, "SF1", "TM1", pitch="auto", plot=plot)
    frames = sf.info(str(sf1_clip)).frames
    info = sf.info(str(out))
    assert (info.samplerate, info.frames, info.channels) == (RATE, frames, 1)
    expected = auto_shift(tiny_models, "SF1", "TM1")
    assert expected < -1  # the tiny stats: a female source, a male target
    assert (result.out, result.plot, result.seconds) == (out, plot, pytest.approx(frames / RATE))
    assert result.pitch_shift == pytest.approx(expected, abs=1e-12) and result.rtf > 0
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert converter.pitch_plan("TM1", "SF1", "auto")[0] == pytest.approx(-expected)
    assert converter.pitch_plan("SF1", "TM1") == converter.pitch_plan("SF1", "TM1", "auto")  # the default
    assert converter.pitch_plan("TM1", "SF1", "none") == (0.0, "source F0 kept (--pitch none)")


def test_the_f0_transform_is_the_log_gaussian_one_from_the_bundle_stats(converter) -> None:
    stats = converter.bundle.stats
    mu_s, sd_s = stats["SF1"].log_f0_mean, stats["SF1"].log_f0_std
    mu_t, sd_t = stats["TM1"].log_f0_mean, stats["TM1"].log_f0_std
    scale, offset = converter.f0_transform("SF1", "TM1", "auto")
    lf0 = np.log([110.0, 220.0, 330.0])
    np.testing.assert_allclose(scale * lf0 + offset, (lf0 - mu_s) / sd_s * sd_t + mu_t, atol=1e-12)
    scale2, offset2 = converter.f0_transform("SF1", "TM1", "-3")  # the transform, then 3 semitones down
    assert scale2 == scale and offset2 == pytest.approx(offset - 3 * math.log(2) / 12, abs=1e-12)
    assert converter.f0_transform("SF1", "TM1", "none") == (1.0, 0.0)
    semitones, plan = converter.pitch_plan("SF1", "TM1", "-3")
    assert semitones == pytest.approx(12 * (mu_t - mu_s) / math.log(2) - 3)
    assert plan == (f"F0 transformed SF1 -> TM1 (log-Gaussian: mean {semitones:+.1f} semitones, "
                    f"spread x{sd_t / sd_s:.2f}) -3 semitones")


def test_the_pipeline_is_its_parts_in_the_asked_direction(converter, tm1_clip, tmp_path) -> None:
    out = converter.convert_file(tm1_clip, tmp_path / "o.wav", "TM1", "SF1", pitch="none").out
    written, _ = sf.read(str(out), dtype="float32")
    wav = load_audio(tm1_clip, RATE)
    mel = compute_mel(wav, converter.feature_config)
    mel_hat = converter.bundle.convert_mel(mel, "TM1", "SF1")
    rows = f0_rows(wav, RATE, converter.feature_config.hop_length, converter.vocoder.f0_config)  # --pitch none
    wav_hat = converter.vocoder.wav_from_mel(mel_hat, rows)
    by_hand = clip_guard(np.pad(wav_hat, (0, len(wav) - len(wav_hat))), "x")
    # 16-bit rounding, plus float rounding: the file is streamed, whose mel frames come from other
    # filterbank products than one whole-file product (~1e-6 apart).
    assert np.abs(written - by_hand).max() <= PCM16_STEP + 1e-6
    got_wav, got_mel, got_mel_hat = converter.convert_wav(wav, "TM1", "SF1", pitch="none")
    np.testing.assert_allclose(got_mel, mel, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got_mel_hat, mel_hat, rtol=0, atol=1e-4)
    # The other direction (other generator and stats) changes the converted mel; the pitch does not
    # (F0 goes to the vocoder explicitly), but it changes the audio.
    assert np.abs(converter.bundle.convert_mel(mel, "SF1", "TM1") - mel_hat).mean() > 0.1
    shifted_wav, shifted_mel, shifted_mel_hat = converter.convert_wav(wav, "TM1", "SF1", pitch=4.0)
    np.testing.assert_allclose(shifted_mel, mel, rtol=0, atol=1e-5)
    np.testing.assert_allclose(shifted_mel_hat, mel_hat, rtol=0, atol=1e-4)
    assert np.abs(shifted_wav - got_wav).mean() > 1e-4


def test_shift_pitch_moves_f0_by_the_semitones() -> None:
    t = np.arange(RATE) / RATE
    tone = sum(0.2 / k * np.sin(2 * np.pi * 220.0 * k * t) for k in range(1, 6)).astype(np.float32)
    shifted = shift_pitch(tone, RATE, -7.0)
    assert shifted.shape == tone.shape and shifted.dtype == np.float32
    f0, voiced = log_f0(shifted, RATE, 256)
    measured = np.median(f0[voiced][4:-4])
    assert measured == pytest.approx(220.0 * 2 ** (-7 / 12), rel=0.02)


def test_existing_outputs_and_bad_inputs_are_one_line_errors(converter, sf1_clip, tmp_path) -> None:
    out, plot = tmp_path / "o.wav", tmp_path / "o.png"
    converter.convert_file(sf1_clip, out, "SF1", "TM1", pitch="none")
    before = out.read_bytes()
    with pytest.raises(AudioError) as err:
        converter.convert_file(sf1_clip, out, "SF1", "TM1", pitch="none")
    assert str(err.value) == f"{out}: already exists; pass --overwrite (overwrite=True) to replace it"
    plot.write_bytes(b"old")
    with pytest.raises(AudioError) as err:
        converter.convert_file(sf1_clip, tmp_path / "new.wav", "SF1", "TM1", pitch="none", plot=plot)
    assert str(err.value) == f"{plot}: already exists; pass --overwrite (overwrite=True) to replace it"
    assert out.read_bytes() == before and not (tmp_path / "new.wav").exists()
    converter.convert_file(sf1_clip, out, "SF1", "TM1", pitch="none", overwrite=True, plot=plot)
    assert plot.read_bytes()[:8] == PNG_MAGIC
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n")
    with pytest.raises(AudioError) as err:
        converter.convert_file(bad, tmp_path / "b.wav", "SF1", "TM1")
    assert str(err.value) == f"{bad}: is a text file, not audio; check the file (wrong extension?)"
    with pytest.raises(ConfigError) as err:
        converter.convert_file(sf1_clip, tmp_path / "c.wav", "SF1", "XX")
    assert str(err.value) == "speaker 'XX' is not in this converter (speakers: SF1, TM1)"


def test_a_folder_is_mirrored_and_bad_files_do_not_stop_it(tiny_models, sf1_clip, tmp_path) -> None:
    src, out, plots = tmp_path / "in", tmp_path / "out", tmp_path / "plots"
    (src / "sub").mkdir(parents=True)
    (src / ".hidden").mkdir()
    shutil.copy(sf1_clip, src / "a.wav")
    shutil.copy(sf1_clip, src / ".hidden" / "skipped.wav")
    wav = load_audio(sf1_clip, RATE)[:RATE]
    sf.write(str(src / "sub" / "b.flac"), wav, RATE)
    (src / "sub" / "bad.wav").write_text("text\n")
    (src / "readme.txt").write_text("not an audio extension: ignored\n")
    options = ConvertOptions(source="SF1", target="TM1", pitch="none", plot=plots)
    lines = []
    summary = run_convert(src, out, options, bundle=tiny_models.bundle, batch=BatchOptions(progress=False),
                          echo=lambda line, is_error: lines.append((is_error, line)))
    assert (summary.done, summary.failed, summary.total) == (2, 1, 3)
    bad = src / "sub" / "bad.wav"
    assert [line for is_error, line in lines if is_error] == [
        f"failed: {bad}: is a text file, not audio; check the file (wrong extension?)"]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                  and p.parts[len(tmp_path.parts)] in ("out", "plots")) == [
        "out/a.wav", "out/sub/b.wav", f"out/{MANIFEST_NAME}", "plots/a.png", "plots/sub/b.png"]
    assert sf.info(str(out / "sub" / "b.wav")).frames == RATE
    again = run_convert(src, out, options, bundle=tiny_models.bundle, batch=BatchOptions(progress=False),
                        echo=lambda line, is_error: None)
    assert (again.done, again.skipped, again.failed_before) == (0, 2, 1)
    one = ConvertOptions(source="SF1", target="TM1", pitch="none", plot=tmp_path / "one.png")
    result = run_convert(sf1_clip, tmp_path / "one.wav", one, bundle=tiny_models.bundle)  # a file: a PNG plot
    assert (result.out, result.plot, result.sample_rate) == (tmp_path / "one.wav", tmp_path / "one.png", RATE)


def test_a_vocoder_with_other_mel_settings_is_refused(tiny_models, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_models.bundle, bundle)
    meta_path = bundle / "vocoder" / "artifact.json"
    meta = json.loads(meta_path.read_text())
    meta["mel"]["sample_rate"] = 22050
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ConfigError) as err:
        Converter(bundle, "cpu")
    assert str(err.value) == (f"mel contract mismatch with vocoder {bundle / 'vocoder'}: sample_rate 16000 vs 22050 "
                              "(required vs vocoder); use a vocoder trained on the same features")


def test_parse_pitch() -> None:
    assert [parse_pitch(v) for v in ("auto", " NONE ", "-4.5", 3)] == ["auto", "none", -4.5, 3.0]
    for value, message in (("up", "--pitch must be auto, none or a number of semitones (e.g. -4.5), got 'up'"),
                           ("30", "--pitch 30: shifts beyond +-24 semitones are not supported"),
                           ("nan", "--pitch must be auto, none or a number of semitones, got nan")):
        with pytest.raises(ConfigError) as err:
            parse_pitch(value)
        assert str(err.value) == message


def test_a_bundle_with_a_mel_only_vocoder_keeps_the_waveform_pre_shift(tiny_models, sf1_clip, tmp_path) -> None:
    from voicegen.audio.features import get_preset
    from voicegen.formats.vocoder import save_vocoder
    from voicegen.infer.bundles import package_bundle
    from voicegen.models.vocoder import build_generator
    from voicegen.train.vocoder import fill_generator_contract

    config = fill_generator_contract("istft", {"channels": 16, "intermediate_channels": 32, "n_blocks": 1},
                                     get_preset("vc16k"))
    vocoder = save_vocoder(build_generator("istft", config), "istft", config, get_preset("vc16k"), tmp_path / "v")
    legacy = Converter(package_bundle(tiny_models.converter, vocoder, tmp_path / "legacy"), "cpu")
    assert not legacy.vocoder.needs_f0
    expected = 12 * (tiny_models.log_f0_mean["TM1"] - tiny_models.log_f0_mean["SF1"]) / math.log(2)
    assert legacy.pitch_plan("SF1", "TM1", "auto") == (pytest.approx(expected),
                                                      f"shifted {expected:+.1f} semitones (SF1 -> TM1 log-F0 means)")
    assert legacy.pitch_plan("TM1", "SF1", "2.5") == (2.5, "shifted +2.5 semitones (--pitch 2.5)")
    result = legacy.convert_file(sf1_clip, tmp_path / "o.wav", "SF1", "TM1", pitch="none")
    assert result.pitch_shift == 0.0 and sf.info(str(result.out)).frames == sf.info(str(sf1_clip)).frames
