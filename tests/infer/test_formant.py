"""The formant knob (``--formant``): the envelope warp against a hand-made bump, and end to end on real speech
through the shipped pitch-conditioned vocoder (envelope moved by the requested factor, F0 kept), the .npy path,
the converter path and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pyworld
from click.testing import CliRunner

from voicegen.audio.contract import get_preset
from voicegen.audio.io import load_audio
from voicegen.cli import cli
from voicegen.errors import ArtifactError, ConfigError
from voicegen.formats.vocoder import save_vocoder
from voicegen.infer.batch.workers import WorkerSpec
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, describe_kind, read_bundle_info
from voicegen.infer.formant import FormantShift, band_centres, formant_matrix
from voicegen.infer.options import ConvertOptions, VocodeOptions
from voicegen.infer.vocode import load_vocoder, vocode_to
from voicegen.models.vocoder import build_generator
from voicegen.train.vocoder import fill_generator_contract

VC16K = get_preset("vc16k")
VOCODER = PACKAGE_MODELS_DIR / "vocoder16k"
FACTORS = np.arange(0.80, 1.2501, 0.0025)

pytestmark = pytest.mark.usefixtures("only_package_models")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def voiced_envelope(wav: np.ndarray, sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """Mean log WORLD (CheapTrick) envelope over voiced frames, and the F0 track (Hz, 0 unvoiced; DIO)."""
    x = wav.astype(np.float64)
    f0, t = pyworld.dio(x, sample_rate)
    f0 = pyworld.stonemask(x, f0, t, sample_rate)
    voiced = f0 > 0
    return np.log(pyworld.cheaptrick(x, f0, t, sample_rate)[voiced]).mean(0), f0


def pitch_change(before: np.ndarray, after: np.ndarray) -> float:
    """Median F0 change in cents over the frames voiced in both tracks."""
    n = min(len(before), len(after))
    both = (before[:n] > 0) & (after[:n] > 0)
    return float(np.median(1200 * np.log2(after[:n][both] / before[:n][both])))


def envelope_factor(before: np.ndarray, after: np.ndarray, sample_rate: int = 16000) -> float:
    """The frequency factor that, applied to ``before``, best matches ``after`` over 300-5000 Hz."""
    f = np.linspace(0, sample_rate / 2, len(before))
    band = (f > 300) & (f < 5000)
    scores = [np.corrcoef(np.interp(f[band] / a, f, before), after[band])[0, 1] for a in FACTORS]
    return float(FACTORS[int(np.argmax(scores))])


def test_the_warp_moves_a_bump_by_the_factor_and_zero_is_the_identity() -> None:
    centres = band_centres(VC16K)
    assert centres.shape == (80,) and centres[0] > 0 and centres[-1] < 8000 and np.all(np.diff(centres) > 0)
    bump = np.exp(-0.5 * ((centres - 1000.0) / 150.0) ** 2)[:, None] * np.ones((1, 3))  # a "formant" at 1 kHz
    for semitones in (-3.0, 3.0, 7.0):
        moved = formant_matrix(VC16K, semitones) @ bump
        peak = centres[np.argmax(moved[:, 0])]
        band_width = np.diff(centres)[np.searchsorted(centres, peak) - 1]
        assert abs(peak - 1000.0 * 2 ** (semitones / 12)) <= band_width  # within one band of where it should be
        np.testing.assert_array_equal(moved[:, 0], moved[:, 2])  # frame by frame, the same matrix
    np.testing.assert_array_equal(formant_matrix(VC16K, 0), np.eye(80, dtype=np.float32))
    matrix = formant_matrix(VC16K, 5)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-6)  # interpolation weights: a flat mel stays flat
    assert matrix.min() >= 0
    # up: the top bands read below them; the lowest band has nothing below it and holds
    assert matrix[0, 0] == 1.0 and matrix[-1, -1] < 1.0


def test_the_shift_moves_the_envelope_and_leaves_the_harmonic_ripple_where_it_was() -> None:
    """A frame = a smooth "formant" + the ripple of harmonics 200 Hz apart: FormantShift moves the first and keeps
    the second in place (the vocoder builds harmonics at the F0 it is given); warping the whole mel would move both."""
    centres = band_centres(VC16K)
    envelope = 3.0 * np.exp(-0.5 * ((centres - 1000.0) / 300.0) ** 2)
    ripple = 0.5 * np.cos(2 * np.pi * centres / 200.0)
    frames = np.stack([envelope + ripple, envelope + ripple, envelope], axis=1)
    lf0 = np.log([200.0, 200.0, 200.0])
    out = FormantShift(VC16K, 3.0).apply(frames, lf0)
    wanted = formant_matrix(VC16K, 3.0) @ envelope + ripple
    low = centres < 1500  # where the bands resolve the harmonics
    assert np.abs(out[low, 0] - wanted[low]).max() < 0.1
    assert np.abs((formant_matrix(VC16K, 3.0) @ frames[:, 0])[low] - wanted[low]).max() > 0.5
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    assert np.abs(out[low, 2] - (formant_matrix(VC16K, 3.0) @ envelope)[low]).max() < 0.1  # no ripple: the warp
    np.testing.assert_array_equal(FormantShift(VC16K, 0).apply(frames, lf0), frames.astype(np.float32))
    rows = np.concatenate([frames, lf0[None], np.ones((1, 3))]).astype(np.float32)
    shifted = FormantShift(VC16K, 3.0).rows(rows)
    np.testing.assert_array_equal(shifted[80:], rows[80:])
    np.testing.assert_array_equal(shifted[:80], FormantShift(VC16K, 3.0).apply(rows[:80], rows[80]))
    with pytest.raises(ValueError, match="one log-F0 per frame"):
        FormantShift(VC16K, 1.0).apply(frames, lf0[:2])


def test_out_of_range_shifts_are_one_line_errors() -> None:
    for value in (12.5, -13, float("nan"), "2", True):
        with pytest.raises(ConfigError) as err:
            VocodeOptions(formant=value)
        assert str(err.value) == f"--formant must be a number of semitones within +-12, got {value!r}"
    assert ConvertOptions(source="SF1", target="TM1", formant=-12).formant == -12.0
    assert VocodeOptions(formant=2).identity() == {"formant": 2.0} and VocodeOptions().identity() == {}
    assert ConvertOptions(source="SF1", target="TM1", formant=1.5).identity()["formant"] == 1.5


def test_vocode_moves_the_envelope_and_keeps_the_pitch_on_real_speech(sf1_clip, tmp_path) -> None:
    """The shipped vocoder16k: the output's WORLD envelope is the input's warped by 2^(s/12), its F0 unchanged."""
    source = load_audio(sf1_clip)
    env_in, f0_in = voiced_envelope(source)
    vocoder = load_vocoder(VOCODER)
    plain = load_audio(vocode_to(sf1_clip, tmp_path / "plain.wav", vocoder))
    env_plain, f0_plain = voiced_envelope(plain)
    assert abs(envelope_factor(env_in, env_plain) - 1.0) <= 0.0125
    for semitones in (-3.0, 3.0):
        moved = load_audio(vocode_to(sf1_clip, tmp_path / f"f{semitones:+g}.wav", vocoder, formant=semitones))
        env_out, f0_out = voiced_envelope(moved)
        assert abs(envelope_factor(env_in, env_out) - 2 ** (semitones / 12)) <= 0.0125, semitones
        assert abs(pitch_change(f0_in, f0_out)) < 10  # the pitch stays
        assert moved.shape == source.shape


def test_the_npy_path_and_the_cli_give_the_same_audio(sf1_clip, tmp_path) -> None:
    result = run("features", sf1_clip, "--out", tmp_path / "m.npy", "--f0")
    assert result.exit_code == 0, result.output
    vocoder = load_vocoder(VOCODER)
    from voicegen.audio.f0 import f0_rows
    from voicegen.audio.features import compute_mel

    rows = np.concatenate([compute_mel(load_audio(sf1_clip), VC16K),
                           f0_rows(load_audio(sf1_clip), 16000, 256, vocoder.f0_config)])
    np.save(tmp_path / "own.npy", rows)
    from_npy = load_audio(vocode_to(tmp_path / "own.npy", tmp_path / "npy.wav", vocoder, formant=2.5))
    result = run("vocode", sf1_clip, tmp_path / "cli.wav", "--formant", "2.5")
    assert result.exit_code == 0, result.output
    from_audio = load_audio(tmp_path / "cli.wav")
    n = min(len(from_npy), len(from_audio))
    np.testing.assert_allclose(from_audio[:n], from_npy[:n], atol=2e-4)


def test_with_the_pitch_knob_the_split_uses_the_f0_the_mel_was_made_with(sf1_clip, tmp_path) -> None:
    """--pitch 5 --formant 2: the same audio from the file and from its .npy rows, and the formant shift of the
    unshifted F0 (the mel's harmonics are at the recording's F0, not at the one the vocoder is then given)."""
    vocoder = load_vocoder(VOCODER)
    from voicegen.audio.f0 import f0_rows, shift_lf0
    from voicegen.audio.features import compute_mel
    from voicegen.infer.formant import FormantShift

    wav = load_audio(sf1_clip)
    mel, f0 = compute_mel(wav, VC16K), f0_rows(wav, 16000, 256, vocoder.f0_config)
    np.save(tmp_path / "own.npy", np.concatenate([mel, f0]))
    both = load_audio(vocode_to(sf1_clip, tmp_path / "both.wav", vocoder, semitones=5, formant=2))
    from_npy = load_audio(vocode_to(tmp_path / "own.npy", tmp_path / "npy.wav", vocoder, semitones=5, formant=2))
    expected = vocoder.wav_from_mel(FormantShift(VC16K, 2).apply(mel, f0[0]), f0=shift_lf0(f0, 5))
    n = min(len(both), len(from_npy), len(expected))
    np.testing.assert_allclose(from_npy[:n], both[:n], atol=2e-4)
    np.testing.assert_allclose(from_npy[:n], np.clip(expected[:n], -1, 1), atol=2e-4)


def test_a_folder_goes_through_the_batch_engine_with_the_same_shift(sf1_clip, tmp_path) -> None:
    import shutil

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(sf1_clip, folder / "a.wav")
    result = run("vocode", folder, tmp_path / "out", "--formant", "-2", "--no-progress")
    assert result.exit_code == 0, result.output
    single = run("vocode", sf1_clip, tmp_path / "single.wav", "--formant", "-2")
    assert single.exit_code == 0, single.output
    np.testing.assert_array_equal(load_audio(tmp_path / "out" / "a.wav"), load_audio(tmp_path / "single.wav"))
    # the manifest knows the shift: another one into the same folder is refused, not mixed in
    again = run("vocode", folder, tmp_path / "out", "--formant", "2", "--no-progress")
    assert again.exit_code == 1 and "this folder was made with other settings (formant: -2.0 vs 2.0; before vs now)" \
        in again.output


def test_a_mel_only_vocoder_refuses_the_formant_knob(sf1_clip, tmp_path) -> None:
    config = fill_generator_contract("istft", {"channels": 32, "intermediate_channels": 64, "n_blocks": 2}, VC16K)
    path = save_vocoder(build_generator("istft", config), "istft", config, VC16K, tmp_path / "mel_only")
    result = run("vocode", sf1_clip, tmp_path / "o.wav", "--model", path, "--formant", "2")
    assert result.exit_code == 1 and not (tmp_path / "o.wav").exists()
    assert result.output == (f"Error: {path} is mel-only (istft): its mel carries the pitch, which --formant would "
                             "move too; use a pitch-conditioned (source_filter) vocoder\n")
    assert run("vocode", sf1_clip, tmp_path / "o.wav", "--model", path, "--formant", "0").exit_code == 0


def test_convert_moves_the_converted_envelope(sf1_clip, tmp_path) -> None:
    plain = run("convert", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "a.wav")
    assert plain.exit_code == 0, plain.output
    moved = run("convert", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "b.wav", "--formant", "-2")
    assert moved.exit_code == 0, moved.output
    assert "formants: moved -2 semitones (x0.891 in frequency)" in moved.output
    env_a, f0_a = voiced_envelope(load_audio(tmp_path / "a.wav"))
    env_b, f0_b = voiced_envelope(load_audio(tmp_path / "b.wav"))
    assert abs(envelope_factor(env_a, env_b) - 2 ** (-2 / 12)) <= 0.0125
    assert abs(pitch_change(f0_a, f0_b)) < 10
    live = run("stream", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "live.wav", "--formant", "-2")
    assert live.exit_code == 0, live.output
    live_plain = run("stream", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "live_plain.wav")
    assert live_plain.exit_code == 0, live_plain.output
    env_c, f0_c = voiced_envelope(load_audio(tmp_path / "live_plain.wav"))
    env_d, f0_d = voiced_envelope(load_audio(tmp_path / "live.wav"))
    assert abs(envelope_factor(env_c, env_d) - 2 ** (-2 / 12)) <= 0.0125 and abs(pitch_change(f0_c, f0_d)) < 10
    bad = run("convert", "--src", sf1_clip, "--target", "TM1", "--out", tmp_path / "c.wav", "--formant", "20")
    assert bad.exit_code == 1 and bad.output.strip().splitlines()[-1] == \
        "Error: --formant must be a number of semitones within +-12, got 20.0"
    assert not (tmp_path / "c.wav").exists()


def test_a_bundle_sets_a_formant_shift_per_target_that_convert_applies_unless_told(sf1_clip, tmp_path) -> None:
    made = run("bundle", "--converter", "vcc2016_sf1_tm1", "--link-vocoder", "vocoder16k_vc", "--formant", "TM1=-1.5",
               "--formant", "SF1=0", "--out", tmp_path / "b")
    assert made.exit_code == 0, made.output
    assert made.output.endswith("frame bank of SF1 (8971 frames), TM1 (8237 frames), formants TM1 -1.5 semitones\n")
    info = read_bundle_info(tmp_path / "b")
    assert info.formant == {"TM1": -1.5}  # a zero shift is not stored: SF1 (the shipped bundle's +0.75) is dropped
    assert describe_kind(info, []).endswith(" + formants TM1 -1.5")
    outputs = {}
    for name, extra in (("model", []), ("explicit", ["--formant", "-1.5"]), ("zero", ["--formant", "0"])):
        done = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", tmp_path / "b",
                   "--out", tmp_path / f"{name}.wav", *extra)
        assert done.exit_code == 0, done.output
        outputs[name] = (load_audio(tmp_path / f"{name}.wav"), done.output)
    assert ("formants: moved -1.5 semitones (x0.917 in frequency), the model's setting for TM1 (--formant 0 leaves "
            "it out)\n") in outputs["model"][1]
    assert "formants: moved -1.5 semitones (x0.917 in frequency)\n" in outputs["explicit"][1]
    assert "formants:" not in outputs["zero"][1]
    assert np.array_equal(outputs["model"][0], outputs["explicit"][0])
    live = run("stream", "--src", sf1_clip, "--target", "TM1", "--model", tmp_path / "b", "--out", tmp_path / "l.wav")
    assert live.exit_code == 0 and "the model's setting for TM1 (--formant 0 leaves it out)\n" in live.output
    env_zero, f0_zero = voiced_envelope(outputs["zero"][0])
    env_model, f0_model = voiced_envelope(outputs["model"][0])
    assert abs(envelope_factor(env_zero, env_model) - 2 ** (-1.5 / 12)) <= 0.0125
    assert abs(pitch_change(f0_zero, f0_model)) < 10
    # the other direction has no setting left; a folder made without --formant records the model's shift
    tm1_clip = PACKAGE_MODELS_DIR.parents[2] / "samples" / "audio" / "TM1_200001.wav"
    other = run("convert", "--src", tm1_clip, "--target", "SF1", "--model", tmp_path / "b", "--out", tmp_path / "o.wav")
    assert other.exit_code == 0 and "formants:" not in other.output
    model = str(tmp_path / "b")
    assert WorkerSpec(ConvertOptions(source="SF1", target="TM1"), model=model).identity()["model_formant"] == -1.5
    for options in (ConvertOptions(source="SF1", target="TM1", formant=0), ConvertOptions(source="TM1", target="SF1")):
        assert "model_formant" not in WorkerSpec(options, model=model).identity()
    # re-bundled with none, the setting is gone
    dropped = run("bundle", "--converter", tmp_path / "b", "--link-vocoder", "vocoder16k_vc", "--formant", "none",
                  "--out", tmp_path / "c")
    assert dropped.exit_code == 0, dropped.output
    assert read_bundle_info(tmp_path / "c").formant is None


def test_bundle_formant_settings_are_checked_when_made_and_when_read(tmp_path) -> None:
    converter = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"

    def bundle(*formant: str, vocoder: tuple[str, ...] = ("--link-vocoder", "vocoder16k_vc")):
        args = ["bundle", "--converter", "vcc2016_sf1_tm1", *vocoder, "--out", tmp_path / "x"]
        for item in formant:
            args += ["--formant", item]
        return run(*args)

    for items, error in (
            (["XX=1"], f"Error: --formant XX=...: name a speaker of {converter} (SF1, TM1)"),
            (["SF1=13"], "Error: --formant SF1=13: the shift must be within +-12 semitones"),
            (["SF1"], "Error: --formant 'SF1': expected TARGET=SEMITONES (or none)"),
            (["SF1=high"], "Error: --formant 'SF1=high': expected TARGET=SEMITONES, a number (or none)"),
            (["SF1=1", "SF1=2"], "Error: --formant: SF1 is given twice"),
            (["none", "SF1=1"], "Error: --formant none drops the formant settings; do not combine it with "
                                "TARGET=SEMITONES")):
        done = bundle(*items)
        assert done.exit_code != 0 and done.output.strip().splitlines()[-1] == error, done.output
        assert not (tmp_path / "x").exists()
    config = fill_generator_contract("istft", {"channels": 32, "intermediate_channels": 64, "n_blocks": 2}, VC16K)
    mel_only = save_vocoder(build_generator("istft", config), "istft", config, VC16K, tmp_path / "mel_only")
    done = bundle("SF1=1", vocoder=("--vocoder", str(mel_only)))
    assert done.exit_code == 1 and done.output == (
        "Error: --formant: the vocoder takes no F0 (a mel-only generator), so a formant shift cannot keep the pitch; "
        "bundle a pitch-conditioned (source_filter) vocoder\n")
    # a hand-edited artifact.json: one line naming the folder when the bundle is read
    assert bundle("SF1=1").exit_code == 0
    meta_path = tmp_path / "x" / "artifact.json"
    meta = json.loads(meta_path.read_text())
    for value, error in (({"SF1": "up"}, "extra.formant must be {TARGET: SEMITONES} with shifts within +-12, got "
                                         "{'SF1': 'up'}; re-bundle with `voicegen bundle --formant`"),
                         ({"LS78": 1}, "extra.formant names target(s) LS78 that this converter does not have "
                                       "(speakers: SF1, TM1); re-bundle with `voicegen bundle --formant`")):
        meta["extra"]["formant"] = value
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(ArtifactError) as caught:
            read_bundle_info(tmp_path / "x")
        assert str(caught.value) == f"{tmp_path / 'x'}: {error}"


def test_the_bundle_setting_and_the_knob_share_one_range() -> None:
    from voicegen.formats.formant import MAX_SEMITONES
    from voicegen.infer.options import MAX_FORMANT_SEMITONES

    assert MAX_SEMITONES == MAX_FORMANT_SEMITONES == 12
