"""A converter bundle's frame bank (``extra.frame_bank``): nearest-neighbour matching against a brute
force, the re-drawn mel built from bank frames, the file's round trip and refusals, and the bundle /
convert commands on the shipped SF1 <-> TM1 converter."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from voicegen.audio.logmel import file_mel
from voicegen.audio.stats import denormalize, normalize
from voicegen.cli import cli
from voicegen.errors import ArtifactError, AudioError, ConfigError
from voicegen.formats.framebank import FILE, FrameBankSpec, load_frame_bank, parse_frame_bank, save_frame_bank
from voicegen.infer import framebank
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, load_converter, package_bundle, read_bundle_info
from voicegen.infer.framebank import FrameBank, nearest, prepare_bank

SHIPPED = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"
VOCODER = PACKAGE_MODELS_DIR / "vocoder16k_vc"


pytestmark = pytest.mark.usefixtures("only_package_models")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def stack_context(frames: np.ndarray, context: int) -> np.ndarray:
    """The reference for :func:`nearest`'s matching: ``(F, d)`` frames -> ``(F, d * (2 * context + 1))``,
    each frame beside its ``context`` neighbours on either side, the first and last frames repeated."""
    if context == 0:
        return frames
    padded = np.pad(frames, ((context, context), (0, 0)), mode="edge")
    return np.concatenate([padded[i:i + len(frames)] for i in range(2 * context + 1)], axis=1)


class UnitStats:
    """Statistics that normalise nothing (mean 0, std 1 per band)."""

    def __init__(self, n_mels: int) -> None:
        self.mel_mean, self.mel_std = np.zeros(n_mels), np.ones(n_mels)


def test_stack_context_puts_each_frame_between_its_neighbours_repeating_the_ends() -> None:
    frames = np.array([[1.0], [2.0], [3.0]])
    assert stack_context(frames, 0) is frames
    np.testing.assert_array_equal(stack_context(frames, 1), [[1, 1, 2], [1, 2, 3], [2, 3, 3]])
    np.testing.assert_array_equal(stack_context(frames, 2)[0], [1, 1, 1, 2, 3])


@pytest.mark.parametrize("context", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 40])
def test_nearest_matches_a_brute_force_sort_of_stacked_frames(monkeypatch, k, context) -> None:
    monkeypatch.setattr(framebank, "QUERY_ROWS", 7)  # several distance blocks
    monkeypatch.setattr(framebank, "GROUP", 4)  # several groups in the search (but one for k=40)
    rng = np.random.default_rng(0)
    bank, query = rng.normal(size=(40, 5)).astype(np.float32), rng.normal(size=(23, 5)).astype(np.float32)
    stacked_bank, stacked_query = stack_context(bank, context), stack_context(query, context)
    distance = ((stacked_query[:, None, :] - stacked_bank[None]) ** 2).sum(-1)
    expected = np.argsort(distance, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(nearest(query, bank, k, context), expected)


def test_smallest_finds_the_k_smallest_of_each_row_whatever_the_grouping(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    dist = rng.normal(size=(9, 1000))
    dist[4, 500:508] = -50.0  # the 8 smallest of a row in one group
    expected = np.argsort(dist, axis=1, kind="stable")[:, :8]
    for group in (1, 7, 128, 1000, 4096):
        monkeypatch.setattr(framebank, "GROUP", group)
        np.testing.assert_array_equal(framebank.smallest(dist, 8), expected)


def test_project_averages_the_k_nearest_bank_frames_matched_with_context() -> None:
    bank = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [11.0, 10.0]])
    redraw = FrameBank({"T": bank}, {"T": UnitStats(2)}, k=2, context=0, mix=1.0)
    mel = np.array([[0.2, 10.4], [0.1, 9.0]])  # two frames: near the first pair, near the second pair
    np.testing.assert_allclose(redraw.project(mel, "T"), [[0.5, 10.5], [0.0, 10.0]])
    # With context, a frame is matched along with its neighbours: 1.0 is re-drawn as the bank's 1.2
    # when its neighbours are those of the 1.2 (as itself without context).
    seq = np.array([[0.0], [1.0], [2.0], [9.0], [1.2], [-8.0]])
    query = np.array([[9.0, 1.0, -8.0]])
    with_context = FrameBank({"T": seq}, {"T": UnitStats(1)}, k=1, context=1, mix=1.0).project(query, "T")
    plain = FrameBank({"T": seq}, {"T": UnitStats(1)}, k=1, context=0, mix=1.0).project(query, "T")
    np.testing.assert_allclose(with_context[0, 1], 1.2, rtol=1e-6)
    assert plain[0, 1] == 1.0


def test_mix_keeps_that_share_of_the_converters_frame() -> None:
    bank = np.array([[0.0, 0.0], [10.0, 10.0]])
    mel = np.array([[1.0, 7.0], [-1.0, 8.0]])
    out = FrameBank({"T": bank}, {"T": UnitStats(2)}, k=1, context=0, mix=0.75).project(mel, "T")
    np.testing.assert_allclose(out, 0.75 * np.array([[0.0, 10.0], [0.0, 10.0]]) + 0.25 * mel)
    with pytest.raises(ConfigError, match=r"mix must be a number in \(0, 1\], got 0"):
        FrameBank({"T": bank}, {"T": UnitStats(2)}, k=1, mix=0)


def test_project_works_in_the_targets_normalised_units() -> None:
    stats = UnitStats(2)
    stats.mel_mean, stats.mel_std = np.array([5.0, -5.0]), np.array([2.0, 0.5])
    frames = np.array([[5.0, -5.0], [9.0, -4.0], [1.0, -6.0]])  # normalised: (0, 0), (2, 2), (-2, -2)
    redraw = FrameBank({"T": frames}, {"T": stats}, k=1, context=0, mix=1.0)
    out = redraw.project(np.array([[1.9], [2.1]]), "T")
    np.testing.assert_allclose(out, [[2.0], [2.0]])
    np.testing.assert_allclose(denormalize(out, stats)[:, 0], frames[1])


def test_a_bank_with_fewer_frames_than_k_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"frame bank of 'T': 2 frames, fewer than k=3"):
        FrameBank({"T": np.zeros((2, 4))}, {"T": UnitStats(4)}, k=3)
    with pytest.raises(ConfigError, match=r"k must be an integer from 1 to 64, got 0"):
        FrameBank({"T": np.zeros((2, 4))}, {"T": UnitStats(4)}, k=0)


def test_the_file_round_trips_in_float16_and_refuses_alterations(tmp_path) -> None:
    rng = np.random.default_rng(1)
    frames = {"TM1": rng.normal(-5, 2, size=(30, 80)), "SF1": rng.normal(-5, 2, size=(12, 80))}
    spec = save_frame_bank(frames, tmp_path, k=4, context=1, n_mels=80, mix=0.5)
    assert spec.speakers == {"TM1": 30, "SF1": 12} and (spec.k, spec.context, spec.mix, spec.file) == (4, 1, 0.5, FILE)
    parsed = parse_frame_bank({"frame_bank": json.loads(json.dumps(spec.to_dict()))}, ("SF1", "TM1"), tmp_path)
    assert parsed == spec
    loaded = load_frame_bank(tmp_path, spec, 80)
    for name, array in frames.items():
        np.testing.assert_array_equal(loaded[name], array.astype(np.float16).astype(np.float32))
    with pytest.raises(ArtifactError, match=r"frames of 'TM1' should be \(30, 64\), found shape \(30, 80\)"):
        load_frame_bank(tmp_path, spec, 64)
    data = bytearray((tmp_path / FILE).read_bytes())
    data[-1] ^= 1
    (tmp_path / FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"frames\.safetensors: sha256 differs from extra\.frame_bank"):
        load_frame_bank(tmp_path, spec, 80)
    (tmp_path / FILE).unlink()
    with pytest.raises(ArtifactError, match=r"frames\.safetensors: missing \(extra\.frame_bank names it\)"):
        load_frame_bank(tmp_path, spec, 80)


def test_save_refuses_too_few_frames_or_non_finite_ones(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"frame bank of 'T': need at least k=8 frames of 80 mel bands"):
        save_frame_bank({"T": np.zeros((5, 80))}, tmp_path, k=8, context=1, n_mels=80)
    bad = np.zeros((10, 80))
    bad[3, 3] = np.nan
    with pytest.raises(ConfigError, match=r"frame bank of 'T': holds NaN or infinite values"):
        save_frame_bank({"T": bad}, tmp_path, k=8, context=1, n_mels=80)
    assert not (tmp_path / FILE).exists()


@pytest.mark.parametrize(("value", "message"), [
    ({"file": FILE, "sha256": "0", "k": 8, "context": 1, "speakers": {"XX": 5}},
     r"extra\.frame_bank names target\(s\) XX that this converter does not have \(speakers: SF1, TM1\)"),
    ({"file": FILE, "sha256": "0", "k": 99, "context": 1, "speakers": {"TM1": 5}},
     r"extra\.frame_bank: k must be an integer from 1 to 64, got 99; re-bundle"),
    ({"file": "other.bin", "sha256": "0", "k": 8, "context": 1, "speakers": {"TM1": 5}},
     r"extra\.frame_bank must be \{\"file\": \"frames\.safetensors\""),
    ({"file": FILE, "k": 8, "context": 1, "speakers": {"TM1": 5}}, r"extra\.frame_bank must be"),
    ({"file": FILE, "sha256": "0", "k": 8, "context": 1, "mix": 1.5, "speakers": {"TM1": 5}},
     r"extra\.frame_bank: mix must be a number in \(0, 1\], got 1\.5"),
])
def test_a_malformed_spec_is_one_line_naming_the_bundle(tmp_path, value, message) -> None:
    with pytest.raises(ArtifactError, match=message):
        parse_frame_bank({"frame_bank": value}, ("SF1", "TM1"), tmp_path)
    assert parse_frame_bank({}, ("SF1", "TM1"), tmp_path) is None


@pytest.fixture(scope="module")
def banked(tmp_path_factory):
    """The shipped converter re-bundled with k=1 frame banks of the bundled TM1 and SF1 clips and no
    post-filter (so that the output is made of bank frames)."""
    root = tmp_path_factory.mktemp("banked")
    samples = PACKAGE_MODELS_DIR.parents[2] / "samples" / "audio"
    for speaker in ("TM1", "SF1"):
        (root / speaker).mkdir()
        for clip in samples.glob(f"{speaker}_*.wav"):
            shutil.copy(clip, root / speaker / clip.name)
    out = package_bundle(SHIPPED, VOCODER, root / "bundle", link_vocoder=True, postfilter="none",
                         frame_bank={"TM1": root / "TM1", "SF1": root / "SF1"}, frame_bank_k=1, frame_bank_context=1,
                         frame_bank_mix=1.0)
    return root, out


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_banked_converter_outputs_bank_frames_and_the_switch_turns_it_off(banked, runtime, sf1_clip) -> None:
    root, bundle = banked
    info = read_bundle_info(bundle)
    with_bank = load_converter(bundle, runtime=runtime)
    without = load_converter(bundle, runtime=runtime, postfilter=False)
    assert without.frame_bank is None and with_bank.postfilter is None
    assert info.frame_bank == {"TM1": with_bank.frame_bank.size("TM1"), "SF1": with_bank.frame_bank.size("SF1")}
    mel, _ = file_mel(sf1_clip, with_bank.feature_config)
    out = with_bank.convert_mel(mel, "SF1", "TM1")
    raw = without.convert_mel(mel, "SF1", "TM1")
    stats = with_bank.stats["TM1"]
    bank = denormalize(with_bank.frame_bank.frames["TM1"].T, stats).T  # (N, n_mels), as stored (fp16)
    distance = np.abs(out.T[:, None, :] - bank[None]).max(-1).min(1)  # each output frame vs its closest bank frame
    assert distance.max() < 1e-4
    assert np.abs(out - raw).mean() > 0.1  # the bank changed the generator's output
    # k=1 with context: each output frame is the bank frame nearest to the raw output with its neighbours
    index = nearest(stack_context(normalize(raw, stats).T.astype(np.float32), 1),
                    stack_context(with_bank.frame_bank.frames["TM1"], 1), 1)[:, 0]
    np.testing.assert_allclose(out, bank[index].T, atol=1e-4)


def test_bundle_and_convert_commands_make_report_and_drop_a_frame_bank(banked, tmp_path, sf1_clip) -> None:
    root, _ = banked
    out = tmp_path / "cli_bundle"
    result = run("bundle", "--converter", SHIPPED, "--link-vocoder", "vocoder16k_vc", "--frame-bank",
                 f"TM1={root / 'TM1'}", "--frame-bank-k", 2, "--out", out)
    assert result.exit_code == 0, result.output
    frames = json.loads((out / "artifact.json").read_text())["extra"]["frame_bank"]
    assert (frames["k"], frames["context"], frames["mix"], list(frames["speakers"])) == (2, 1, 0.7, ["TM1"])
    assert f"frame bank of TM1 ({frames['speakers']['TM1']} frames)" in result.output
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", out, "--out", tmp_path / "a.wav")
    assert result.exit_code == 0, result.output
    assert f"frame bank: {frames['speakers']['TM1']} frames of TM1, each frame 0.7 x the mean of its 2 nearest" \
        in result.output
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", out, "--out", tmp_path / "b.wav",
                 "--no-postfilter")
    assert result.exit_code == 0 and "frame bank:" not in result.output
    dropped = tmp_path / "dropped"
    result = run("bundle", "--converter", out, "--link-vocoder", "vocoder16k_vc", "--frame-bank", "none",
                 "--out", dropped)
    assert result.exit_code == 0, result.output
    assert read_bundle_info(dropped).frame_bank is None and not (dropped / FILE).exists()


def test_frame_bank_mix_sets_the_share_zero_leaves_the_bank_out_and_none_restores_it(banked, sf1_clip) -> None:
    """``Converter(frame_bank_mix=...)`` / ``set_frame_bank_mix``: the output is that share of the re-drawn mel and
    the rest the generator's (the bank runs in normalised units, an affine map, so the mix carries over)."""
    from voicegen.infer.convert import Converter

    _, bundle = banked  # mix 1 in the bundle
    converter = Converter(bundle, "cpu", runtime="onnx", frame_bank_mix=0.25)
    mel, _ = file_mel(sf1_clip, converter.feature_config)
    mixed = converter.bundle.convert_mel(mel, "SF1", "TM1")
    assert converter.postprocessing("TM1")[0].endswith("each frame 0.25 x the mean of its 1 nearest")
    converter.set_frame_bank_mix(0)
    raw = converter.bundle.convert_mel(mel, "SF1", "TM1")
    assert converter.postprocessing("TM1") == []
    np.testing.assert_array_equal(raw, load_converter(bundle, runtime="onnx", postfilter=False).convert_mel(
        mel, "SF1", "TM1"))
    converter.set_frame_bank_mix(None)  # the bundle's own share again
    full = converter.bundle.convert_mel(mel, "SF1", "TM1")
    assert converter.bundle.frame_bank.mix == 1.0 and np.abs(full - raw).mean() > 0.1
    np.testing.assert_allclose(mixed, 0.25 * full + 0.75 * raw, atol=1e-4)
    with pytest.raises(ConfigError, match=r"^--frame-bank-mix must be a number from 0 to 1 \(0 leaves the frame bank "
                       r"out\), got -0.5$"):
        converter.set_frame_bank_mix(-0.5)
    with pytest.raises(ConfigError, match=r"^frame bank: mix must be a number in \(0, 1\], got 0$"):
        converter.bundle.frame_bank.set_mix(0)  # the bank itself only re-draws; leaving it out is the converter's
    plain = Converter(bundle, "cpu", runtime="onnx", postfilter=False)
    plain.set_frame_bank_mix(None)  # nothing to restore: no error
    with pytest.raises(ConfigError) as err:
        plain.set_frame_bank_mix(0.5)
    assert str(err.value) == (f"{bundle}: this model has no frame bank for --frame-bank-mix to set (`voicegen models` "
                              "shows which do; `voicegen bundle --frame-bank` adds one)")


def test_convert_and_stream_take_a_frame_bank_mix_and_refuse_it_where_it_cannot_apply(banked, tmp_path,
                                                                                      sf1_clip) -> None:
    _, bundle = banked
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", bundle, "--out", tmp_path / "a.wav",
                 "--frame-bank-mix", "0.35")
    assert result.exit_code == 0, result.output
    assert "frame bank: " in result.output and "each frame 0.35 x the mean of its 1 nearest" in result.output
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", bundle, "--out", tmp_path / "b.wav",
                 "--frame-bank-mix", "0")
    assert result.exit_code == 0 and "frame bank:" not in result.output
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", bundle, "--out", tmp_path / "c.wav",
                 "--frame-bank-mix", "0.5", "--no-postfilter")
    assert result.exit_code == 1 and not (tmp_path / "c.wav").exists()
    assert result.output.strip().splitlines()[-1] == ("Error: --frame-bank-mix 0.5 and --no-postfilter: "
                                                      "--no-postfilter leaves the frame bank out already; pass one of them")
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", SHIPPED, "--out", tmp_path / "d.wav",
                 "--frame-bank-mix", "2")
    assert result.exit_code == 2 and "Invalid value for '--frame-bank-mix': 2.0 is not in the range 0<=x<=1" \
        in result.output
    dropped = tmp_path / "no_bank"
    assert run("bundle", "--converter", bundle, "--link-vocoder", "vocoder16k_vc", "--frame-bank", "none",
               "--out", dropped).exit_code == 0
    result = run("convert", "--src", sf1_clip, "--target", "TM1", "--model", dropped, "--out", tmp_path / "e.wav",
                 "--frame-bank-mix", "0.5")
    assert result.exit_code == 1 and not (tmp_path / "e.wav").exists()
    assert result.output.strip().splitlines()[-1] == (f"Error: {dropped}: this model has no frame bank for "
                                                      "--frame-bank-mix to set (`voicegen models` shows which do; "
                                                      "`voicegen bundle --frame-bank` adds one)")
    result = run("stream", "--src", sf1_clip, "--target", "TM1", "--model", bundle, "--out", tmp_path / "f.wav",
                 "--frame-bank-mix", "0.5", "--no-frame-bank")
    assert result.exit_code == 2 and "--frame-bank-mix sets how much the frame bank re-draws; --no-frame-bank " \
        "leaves it out: pass one of them" in result.output
    result = run("stream", "--src", sf1_clip, "--target", "TM1", "--model", bundle, "--out", tmp_path / "g.wav",
                 "--frame-bank-mix", "0")
    assert result.exit_code == 0, result.output
    live_raw = run("stream", "--src", sf1_clip, "--target", "TM1", "--model", bundle, "--out", tmp_path / "h.wav",
                   "--no-frame-bank")
    assert live_raw.exit_code == 0, live_raw.output
    import soundfile as sf

    assert np.array_equal(sf.read(str(tmp_path / "g.wav"))[0], sf.read(str(tmp_path / "h.wav"))[0])


def test_a_batch_manifest_tells_frame_bank_mixes_apart() -> None:
    from voicegen.infer.batch.workers import WorkerSpec
    from voicegen.infer.options import ConvertOptions

    specs = [WorkerSpec(ConvertOptions(source="SF1", target="TM1", frame_bank_mix=mix), model=str(SHIPPED))
             for mix in (None, 0, 0.5)]
    identities = [json.dumps(spec.identity(), sort_keys=True) for spec in specs]
    assert len(set(identities)) == 3


@pytest.mark.parametrize(("args", "message"), [
    (["--frame-bank", "XX={audio}"], "--frame-bank XX=...: name a speaker of"),
    (["--frame-bank", "TM1"], "--frame-bank 'TM1': expected TARGET=FOLDER (or none)"),
    (["--frame-bank", "none", "--frame-bank", "TM1={audio}"], "--frame-bank none drops the frame bank"),
    (["--frame-bank-k", "4"], "--frame-bank-k, --frame-bank-context, --frame-bank-stride and --frame-bank-mix need"),
    (["--frame-bank-mix", "0.5"], "--frame-bank-k, --frame-bank-context, --frame-bank-stride and --frame-bank-mix need"),
    (["--frame-bank", "TM1={audio}", "--frame-bank-mix", "0"], "Invalid value for '--frame-bank-mix'"),
    (["--frame-bank", "TM1={empty}"], "no audio files"),
])
def test_bundle_refuses_bad_frame_bank_options_in_one_line(tmp_path, args, message) -> None:
    (tmp_path / "empty").mkdir()
    audio = PACKAGE_MODELS_DIR.parents[2] / "samples" / "audio"
    args = [a.format(audio=audio, empty=tmp_path / "empty") for a in args]
    result = run("bundle", "--converter", SHIPPED, "--link-vocoder", "vocoder16k_vc", *args, "--out", tmp_path / "o")
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert not (tmp_path / "o").exists()


def test_a_bank_too_large_to_match_fast_is_refused_with_the_stride_that_fits(banked, monkeypatch, tmp_path) -> None:
    from voicegen.infer import bundles

    root, _ = banked
    monkeypatch.setattr(bundles, "MAX_BANK_FRAMES", 100)  # the two TM1 clips hold ~250 + ~350 frames
    with pytest.raises(ConfigError, match=r"--frame-bank TM1: \d+ frames \(0 min of speech at stride 2\); more than "
                                          r"100 slow every conversion down: pass --frame-bank-stride \d+$") as err:
        package_bundle(SHIPPED, VOCODER, tmp_path / "big", link_vocoder=True, frame_bank={"TM1": root / "TM1"},
                       frame_bank_stride=2)
    frames = int(str(err.value).split(": ")[1].split()[0])
    suggested = int(str(err.value).split()[-1])
    assert frames > 100 and suggested == 2 * -(-frames // 100) and not (tmp_path / "big").exists()


@pytest.mark.parametrize("lengths, budget, stride", [
    ([100], 16384, 1), ([9000, 9000], 16384, 2), ([10, 10, 10], 10, 4), ([5], 1, 5), ([7, 7], 4, 4)])
def test_auto_stride_is_the_smallest_that_fits(lengths, budget, stride) -> None:
    kept = lambda s: sum(-(-n // s) for n in lengths)  # noqa: E731  every s-th frame of each file
    assert framebank.auto_stride(lengths, budget) == stride
    assert kept(stride) <= budget and (stride == 1 or kept(stride - 1) > budget)


def test_the_automatic_stride_keeps_a_bank_within_its_budget(banked, monkeypatch, tmp_path) -> None:
    """``voicegen bundle``'s default stride: every N-th frame of each clip for at most AUTO_BANK_FRAMES per
    speaker, where an explicit stride past MAX_BANK_FRAMES is refused (the test above)."""
    from voicegen.audio.contract import get_preset

    root, _ = banked
    config = get_preset("vc16k")
    whole = framebank.bank_frames(root / "TM1", config)
    monkeypatch.setattr(framebank, "AUTO_BANK_FRAMES", len(whole) // 3)
    strided = framebank.bank_frames(root / "TM1", config, stride=None)
    expected = framebank.bank_frames(root / "TM1", config, stride=4)  # 3 keeps a frame more than a third
    assert len(strided) <= len(whole) // 3 and np.array_equal(strided, expected)
    result = run("bundle", "--converter", SHIPPED, "--link-vocoder", "vocoder16k_vc", "--frame-bank",
                 f"TM1={root / 'TM1'}", "--out", tmp_path / "auto")
    assert result.exit_code == 0, result.output
    assert read_bundle_info(tmp_path / "auto").frame_bank == {"TM1": len(expected)}
    monkeypatch.undo()  # the help names the real budget
    help_text = " ".join(run("bundle", "--help").output.split())
    assert f"within {framebank.AUTO_BANK_FRAMES} frames, ~4.4 min of speech [default: auto]" in help_text


def test_spec_to_dict_round_trips() -> None:
    spec = FrameBankSpec(file=FILE, sha256="ab", k=3, context=0, speakers={"TM1": 9}, mix=0.6)
    assert parse_frame_bank({"frame_bank": spec.to_dict()}, ("TM1", "SF1"), PACKAGE_MODELS_DIR) == spec
    older = {k: v for k, v in spec.to_dict().items() if k != "mix"}  # mix is optional: 1 when absent
    assert parse_frame_bank({"frame_bank": older}, ("TM1", "SF1"), PACKAGE_MODELS_DIR).mix == 1.0


def test_bank_frames_of_a_missing_folder_is_one_line(tmp_path) -> None:
    from voicegen.audio.contract import get_preset

    with pytest.raises(AudioError, match="folder not found"):
        framebank.bank_frames(tmp_path / "nope", get_preset("vc16k"))


@pytest.fixture(scope="module")
def banked_vae(tmp_path_factory, banked):
    """The shipped VAE re-bundled with a k=1, mix 1 frame bank of the bundled TM1 clips only."""
    root, _ = banked
    out = tmp_path_factory.mktemp("banked_vae") / "vae"
    return package_bundle(PACKAGE_MODELS_DIR / "vae16k", VOCODER, out, link_vocoder=True, frame_bank={"TM1": root / "TM1"},
                          frame_bank_k=1, frame_bank_context=0, frame_bank_mix=1.0)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_vae_bundle_redraws_the_targets_it_has_frames_of(banked_vae, runtime, sf1_clip) -> None:
    assert read_bundle_info(banked_vae).frame_bank is not None
    vae = load_converter(banked_vae, runtime=runtime)
    plain = load_converter(banked_vae, runtime=runtime, postfilter=False)
    assert vae.frame_bank.targets == ("TM1",) and plain.frame_bank is None
    mel, _ = file_mel(sf1_clip, vae.feature_config)
    out, raw = vae.convert_mel(mel, "SF1", "TM1"), plain.convert_mel(mel, "SF1", "TM1")
    stats = vae.stats["TM1"]
    bank = denormalize(vae.frame_bank.frames["TM1"].T, stats).T
    index = nearest(normalize(raw, stats).T.astype(np.float32), vae.frame_bank.frames["TM1"], 1)[:, 0]
    np.testing.assert_allclose(out, bank[index].T, atol=1e-4)  # k=1, no context, mix 1: the nearest bank frame
    # a target without frames is converted as the VAE makes it
    np.testing.assert_array_equal(vae.convert_mel(mel, "SF1", "LS78"), plain.convert_mel(mel, "SF1", "LS78"))


def test_a_batch_manifest_counts_the_frame_bank(banked) -> None:
    from voicegen.infer.batch.workers import WorkerSpec, model_weights
    from voicegen.infer.options import ConvertOptions

    _, bundle = banked
    sha = json.loads((bundle / "artifact.json").read_text())["extra"]["frame_bank"]["sha256"]
    assert model_weights(WorkerSpec(ConvertOptions(source="SF1", target="TM1"), model=str(bundle)))[-1] == sha
    skipped = ConvertOptions(source="SF1", target="TM1", no_postfilter=True)
    assert sha not in model_weights(WorkerSpec(skipped, model=str(bundle)))
    assert model_weights(WorkerSpec(ConvertOptions(source="SF1", target="TM1"), model=str(SHIPPED)))[-1] != sha


@pytest.mark.parametrize("context", [0, 1, 2])
def test_a_prepared_bank_finds_the_same_neighbours(context) -> None:
    rng = np.random.default_rng(3)
    bank, query = rng.normal(size=(700, 6)).astype(np.float32), rng.normal(size=(9, 6)).astype(np.float32)
    prepared = prepare_bank(bank, context)
    assert prepared[0].shape == (700 + 2 * context, 6) and prepared[1].shape == (700 + 2 * context,)
    np.testing.assert_array_equal(nearest(query, bank, 8, context, prepared=prepared), nearest(query, bank, 8, context))
