"""The torch-free runtime: shipped graphs up to date, ONNX output equal to PyTorch's on real clips,
CycleGAN export, tampered weights refused, and `voicegen convert` / `vocode` with torch, librosa
and matplotlib made unimportable."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicegen.audio.io import load_audio
from voicegen.audio.logmel import log_mel
from voicegen.errors import ArtifactError, ConfigError
from voicegen.infer.bundles import PACKAGE_MODELS_DIR
from voicegen.infer.onnx_runtime import ONNX_META, onnx_status, read_onnx_graphs

pytest.importorskip("onnxruntime", reason="onnxruntime not installed (pip install 'voicegen[onnx]')")

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_WITH_GRAPHS = ("vocoder16k", "vocoder16k_vc", "vcc2016_sf1_tm1", "vae16k")
PCM16_STEP = 1.0 / 32768
# What the blocked modules cost: the inference path must not import them.
BLOCKED = ("torch", "torchaudio", "librosa", "matplotlib", "onnx", "numba")


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum((reference - other) ** 2), 1e-30)))


@pytest.mark.parametrize("name", SHIPPED_WITH_GRAPHS)
def test_shipped_models_carry_up_to_date_graphs_that_share_their_weights(name) -> None:
    folder = PACKAGE_MODELS_DIR / name
    assert onnx_status(folder, json.loads((folder / "artifact.json").read_text())) is None
    graphs = read_onnx_graphs(folder)
    for entry in graphs.graphs.values():
        assert entry["max_abs_diff"] <= 1e-4 and entry["shared_weights"] >= 30
        # the graph is the network's structure: its weights stay in weights.safetensors
        assert (folder / entry["file"]).stat().st_size < 0.1 * (folder / "weights.safetensors").stat().st_size


def test_onnx_conversion_equals_torch_on_real_clips_short_and_long(sf1_clip, tm1_clip) -> None:
    """Mel to mel (both generators, odd frame counts, and a 24 s input that is converted in
    crossfaded chunks) and the whole file, against the PyTorch runtime."""
    from voicegen.infer.convert import Converter

    bundle = PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1"
    torch_side = Converter(bundle, "cpu", runtime="torch")
    onnx_side = Converter(bundle, "cpu", runtime="onnx")
    assert (torch_side.runtime, onnx_side.runtime) == ("torch", "onnx")
    assert onnx_side.bundle.speakers == torch_side.bundle.speakers
    fc = torch_side.feature_config
    sf1, tm1 = load_audio(sf1_clip, fc.sample_rate), load_audio(tm1_clip, fc.sample_rate)
    long = np.concatenate([sf1] * 7)  # ~27 s: more than one 1024-frame chunk
    assert log_mel(sf1[:-77], fc).shape[1] % 4  # frames the graph pads, as the module does
    for wav, (source, target) in ((sf1[:-77], ("SF1", "TM1")), (tm1, ("TM1", "SF1")), (long, ("SF1", "TM1"))):
        mel = log_mel(wav, fc)
        expected = torch_side.bundle.convert_mel(mel, source, target)
        got = onnx_side.bundle.convert_mel(mel, source, target)
        assert got.shape == expected.shape == mel.shape
        assert np.abs(got - expected).max() < 1e-3
    expected_wav, _, _ = torch_side.convert_wav(sf1, "SF1", "TM1")
    got_wav, _, _ = onnx_side.convert_wav(sf1, "SF1", "TM1")
    assert got_wav.shape == expected_wav.shape == sf1.shape
    assert snr_db(expected_wav, got_wav) > 60


def test_onnx_vae_conversion_equals_torch(sf1_clip, flac_clip) -> None:
    from voicegen.infer.bundles import load_converter

    folder = PACKAGE_MODELS_DIR / "vae16k"
    torch_side, onnx_side = load_converter(folder, runtime="torch"), load_converter(folder, runtime="onnx")
    assert onnx_side.runtime == "onnx" and onnx_side.speakers == torch_side.speakers == ("SF1", "TM1", "LS78")
    fc = torch_side.feature_config
    for clip, source, target in ((sf1_clip, "SF1", "TM1"), (flac_clip, "LS78", "SF1")):
        mel = log_mel(load_audio(clip, fc.sample_rate), fc)
        expected = torch_side.convert_mel(mel, source, target)
        got = onnx_side.convert_mel(mel, source, target)
        assert got.shape == expected.shape == mel.shape and np.abs(got - expected).max() < 1e-3
    with pytest.raises(ConfigError, match="^speaker 'XX' is not in this VAE"):
        onnx_side.generator("SF1", "XX")


def test_tampered_weights_are_refused_by_the_onnx_runtime(tmp_path) -> None:
    from voicegen.infer.vocode import load_vocoder

    copy = tmp_path / "voc"
    shutil.copytree(PACKAGE_MODELS_DIR / "vocoder16k", copy)
    weights = copy / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x40  # one bit of one weight: same size, same header
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError) as info:
        load_vocoder(copy, "cpu", "onnx")
    assert str(info.value) == (f"{weights}: missing, or its sha256 differs from artifact.json (tampered or "
                               "corrupted); re-export or re-copy the model")
    with pytest.raises(ConfigError, match=r"^runtime 'onnx' runs on the CPU here; use --device cpu \(got cuda\)$"):
        load_vocoder(copy, "cuda", "onnx")


def test_export_cli_adds_graphs_to_a_bundle_and_convert_uses_them(tiny_models, sf1_clip, tmp_path) -> None:
    from voicegen.cli import cli
    from voicegen.infer.convert import Converter

    bundle = tmp_path / "sf1_tm1"
    shutil.copytree(tiny_models.bundle, bundle)
    runner = CliRunner()
    result = runner.invoke(cli, ["convert", "--src", str(sf1_clip), "--target", "TM1", "--model", str(bundle),
                                 "--out", str(tmp_path / "x.wav"), "--runtime", "onnx"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: no {ONNX_META} in {bundle / 'vocoder'}; run `voicegen export vocoder --artifact "
        f"{bundle / 'vocoder'} --onnx`")
    for kind, folder in (("cyclegan", bundle), ("vocoder", bundle / "vocoder")):
        result = runner.invoke(cli, ["export", kind, "--artifact", str(folder), "--onnx"])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in bundle.glob("*.onnx")) == ["G_ab.onnx", "G_ba.onnx"]
    outs = {}
    for runtime in ("torch", "onnx"):
        outs[runtime] = tmp_path / f"{runtime}.wav"
        result = runner.invoke(cli, ["convert", "--src", str(sf1_clip), "--target", "TM1", "--model", str(bundle),
                                     "--out", str(outs[runtime]), "--runtime", runtime, "--device", "cpu"])
        assert result.exit_code == 0, result.output
        assert ("on ONNX Runtime, cpu" in result.output) == (runtime == "onnx")
    a, b = load_audio(outs["torch"]), load_audio(outs["onnx"])
    assert a.shape == b.shape and np.abs(a).max() > 1e-3
    assert np.abs(a - b).max() <= 1e-3
    assert Converter(bundle, "cpu").runtime == "onnx"  # auto: every model has graphs


def _run_blocked(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``voicegen ARGS`` in a fresh interpreter where importing any of BLOCKED fails."""
    code = (f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n"
            "from voicegen.cli import main\n"
            f"sys.argv = ['voicegen'] + {args!r}\n"
            "try:\n    main()\nexcept SystemExit as done:\n    code = done.code\nelse:\n    code = 0\n"
            f"assert not [m for m in sys.modules if m.split('.')[0] in {BLOCKED!r} and sys.modules[m] is not None]\n"
            "sys.exit(code)\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_convert_and_vocode_run_with_torch_unimportable(sf1_clip, tmp_path) -> None:
    from voicegen.infer.convert import Converter
    from voicegen.infer.vocode import load_vocoder, vocode_to

    out = tmp_path / "converted.wav"
    done = _run_blocked(["convert", "--src", str(sf1_clip), "--target", "TM1", "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "on ONNX Runtime, cpu" in done.stdout
    reference = tmp_path / "reference.wav"
    Converter(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1", "cpu", runtime="torch").convert_file(
        sf1_clip, reference, "SF1", "TM1")
    a, b = load_audio(reference), load_audio(out)
    assert a.shape == b.shape and snr_db(a, b) > 60
    # vocode, and what needs torch says so in one line
    copy = tmp_path / "copy.wav"
    done = _run_blocked(["vocode", str(sf1_clip), str(copy)], tmp_path)
    assert done.returncode == 0, done.stderr
    vocode_to(sf1_clip, tmp_path / "copy_torch.wav", load_vocoder(PACKAGE_MODELS_DIR / "vocoder16k", "cpu", "torch"))
    assert snr_db(load_audio(tmp_path / "copy_torch.wav"), load_audio(copy)) > 60
    done = _run_blocked(["convert", "--src", str(sf1_clip), "--target", "TM1", "--out", str(tmp_path / "t.wav"),
                         "--runtime", "torch"], tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: ")
