"""ONNX Runtime vocoders: export checked against PyTorch, weights shared with the artifact, same audio, auto
choice, stale and missing graphs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors import safe_open
from test_vocode import VC16K, random_mel, tiny_generator  # same folder (pytest puts it on sys.path)

from voicegen.errors import ArtifactError, ConfigError
from voicegen.formats.vocoder import save_vocoder
from voicegen.infer.onnx_export import EXPORT_TOLERANCE, export_vocoder_onnx
from voicegen.infer.onnx_runtime import ONNX_FILE, ONNX_META
from voicegen.infer.vocode import load_vocoder

pytest.importorskip("onnxruntime", reason="onnxruntime not installed (pip install 'voicegen[onnx]')")
pytest.importorskip("onnxscript", reason="onnxscript not installed (pip install 'voicegen[onnx]')")


@pytest.fixture(scope="module")
def onnx_vocoders(tmp_path_factory) -> dict:
    """Tiny float32 HiFi-GAN and iSTFT vocoder artifacts, each with its ONNX graph."""
    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for kind in ("hifigan", "istft"):
        generator, config = tiny_generator(kind)
        path = save_vocoder(generator, kind, config, VC16K, root / kind, dtype=None)
        export_vocoder_onnx(path)
        out[kind] = path
    return out


@pytest.mark.parametrize("kind", ["hifigan", "istft"])
def test_onnx_vocoder_gives_the_same_audio_as_torch_in_chunks(onnx_vocoders, kind) -> None:
    meta = json.loads((onnx_vocoders[kind] / ONNX_META).read_text())
    graph = meta["graphs"]["generator"]
    assert (meta["format"], meta["opset"], graph["file"]) == (2, 18, ONNX_FILE)
    assert 0 <= graph["max_abs_diff"] <= EXPORT_TOLERANCE
    # the weights are read from weights.safetensors, not copied into the graph: at least every kernel
    # (the exporter keeps one of identical tensors, such as the freshly initialised norms of these
    # tiny models, and reshapes a layer scale into a small constant of its own)
    weights = (onnx_vocoders[kind] / "weights.safetensors").stat().st_size
    with safe_open(str(onnx_vocoders[kind] / "weights.safetensors"), "np") as handle:
        kernels = [k for k in handle.keys() if handle.get_tensor(k).ndim >= 2]
    assert graph["shared_weights"] >= len(kernels) >= 5
    assert (onnx_vocoders[kind] / ONNX_FILE).stat().st_size < 0.5 * weights
    torch_vocoder = load_vocoder(onnx_vocoders[kind], runtime="torch")
    onnx_vocoder = load_vocoder(onnx_vocoders[kind], runtime="onnx")
    assert (torch_vocoder.runtime, onnx_vocoder.runtime) == ("torch", "onnx")
    mel = random_mel(330, seed=4)  # two chunks of 200 frames with context: another frame count than the export's
    expected = torch_vocoder.wav_from_mel(mel)
    got = onnx_vocoder.wav_from_mel(mel)
    assert got.shape == expected.shape == (330 * VC16K.hop_length,) and got.dtype == np.float32
    assert np.abs(expected).max() > 1e-3
    assert np.abs(got - expected).max() <= EXPORT_TOLERANCE


def test_auto_runtime_uses_onnx_on_the_cpu_wherever_a_graph_exists(onnx_vocoders, tmp_path) -> None:
    assert load_vocoder(onnx_vocoders["hifigan"], "cpu").runtime == "onnx"
    assert load_vocoder(onnx_vocoders["istft"], "cpu").runtime == "onnx"
    plain = tmp_path / "plain"
    shutil.copytree(onnx_vocoders["istft"], plain, ignore=shutil.ignore_patterns("*.onnx", ONNX_META))
    assert load_vocoder(plain, "cpu").runtime == "torch"
    with pytest.raises(ConfigError, match="^runtime must be one of auto, torch, onnx; got 'tf'$"):
        load_vocoder(plain, "cpu", "tf")


def test_stale_or_missing_graphs_are_refused_and_auto_falls_back(onnx_vocoders, tmp_path) -> None:
    stale = tmp_path / "stale"
    shutil.copytree(onnx_vocoders["hifigan"], stale)
    meta = json.loads((stale / ONNX_META).read_text())
    (stale / ONNX_META).write_text(json.dumps({**meta, "weights_sha256": "0" * 64}))
    with pytest.raises(ArtifactError) as info:
        load_vocoder(stale, runtime="onnx")
    assert str(info.value) == (f"the ONNX graphs in {stale} were exported from other weights (stale); "
                               f"run `voicegen export vocoder --artifact {stale} --onnx`")
    assert load_vocoder(stale).runtime == "torch"
    (stale / ONNX_FILE).unlink()
    with pytest.raises(ArtifactError, match=f"^no {ONNX_FILE} in {stale} \\(listed in onnx.json for generator\\); "
                                            "run `voicegen export vocoder"):
        load_vocoder(stale, runtime="onnx")
    with pytest.raises(ArtifactError, match=f"{ONNX_FILE} exists; pass --overwrite"):
        export_vocoder_onnx(onnx_vocoders["hifigan"])


def test_cli_adds_an_onnx_graph_to_an_artifact(onnx_vocoders, tmp_path) -> None:
    from voicegen.cli import cli

    target = tmp_path / "voc"
    shutil.copytree(onnx_vocoders["hifigan"], target)
    (target / ONNX_FILE).unlink()
    (target / ONNX_META).unlink()
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "vocoder", "--artifact", str(target), "--onnx"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {target / ONNX_FILE}"
    assert load_vocoder(target).runtime == "onnx"
    result = runner.invoke(cli, ["export", "cyclegan", "--artifact", str(target), "--onnx"])
    assert result.exit_code == 2 and f"{target} holds a vocoder artifact, not a cyclegan" in result.output
    result = runner.invoke(cli, ["export", "vocoder", "--onnx"])
    assert result.exit_code == 2 and "pass --run-dir (export a run) or --artifact with --onnx" in result.output


def test_cli_vocode_runtime_onnx_matches_torch(onnx_vocoders, sf1_clip, tmp_path) -> None:
    from voicegen.audio.io import load_audio
    from voicegen.cli import cli

    runner = CliRunner()
    outs = {}
    for runtime in ("torch", "onnx"):
        outs[runtime] = tmp_path / f"{runtime}.wav"
        result = runner.invoke(cli, ["vocode", str(sf1_clip), str(outs[runtime]), "--model",
                                     str(onnx_vocoders["hifigan"]), "--runtime", runtime])
        assert result.exit_code == 0, result.output
    a, b = load_audio(outs["torch"]), load_audio(outs["onnx"])
    assert a.shape == b.shape and np.abs(a).max() > 1e-3
    assert np.abs(a - b).max() <= 2 * EXPORT_TOLERANCE + 1 / 32768  # plus 16-bit rounding of the files


def test_a_mixed_phase_source_filter_vocoder_runs_the_same_in_onnx_with_its_head(sf1_clip, tmp_path) -> None:
    import torch

    from voicegen.audio.f0 import F0Config, f0_rows
    from voicegen.audio.features import compute_mel
    from voicegen.audio.io import load_audio
    from voicegen.models.vocoder import build_generator
    from voicegen.train.vocoder import fill_generator_contract

    config = fill_generator_contract("source_filter", {"channels": 32, "intermediate_channels": 64, "n_blocks": 2,
                                                       "phase_terms": 8}, VC16K)
    torch.manual_seed(6)
    generator = build_generator("source_filter", config).eval()
    with torch.no_grad():  # an added phase that matters (the layer starts at 0)
        generator.phase_proj.weight.normal_(0.0, 0.05)
        generator.phase_proj.bias.normal_(0.0, 0.5)
    f0 = F0Config(f0_min=60.0, f0_max=600.0)
    path = save_vocoder(generator, "source_filter", config, VC16K, tmp_path / "v", f0=f0, dtype=None)
    export_vocoder_onnx(path)
    graph = json.loads((path / ONNX_META).read_text())["graphs"]["generator"]
    assert graph["head"] == "source_filter" and graph["head_config"]["phase_terms"] == 8
    assert 0 <= graph["max_abs_diff"] <= EXPORT_TOLERANCE
    wav = load_audio(sf1_clip)
    mel, rows = compute_mel(wav, VC16K), f0_rows(wav, 16000, 256, f0)
    expected = load_vocoder(path, runtime="torch").wav_from_mel(mel, rows)
    got = load_vocoder(path, runtime="onnx").wav_from_mel(mel, rows)
    assert np.abs(expected).max() > 1e-3 and np.abs(got - expected).max() <= EXPORT_TOLERANCE
    # Without the added phase the head_config keeps its old keys (graphs exported before it stay valid).
    plain = build_generator("source_filter", {**config, "phase_terms": 0}).eval()
    plain_path = save_vocoder(plain, "source_filter", {**config, "phase_terms": 0}, VC16K, tmp_path / "p", f0=f0,
                              dtype=None)
    export_vocoder_onnx(plain_path)
    assert "phase_terms" not in json.loads((plain_path / ONNX_META).read_text())["graphs"]["generator"]["head_config"]
