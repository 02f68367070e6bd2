"""Each family's saved format: save -> load gives the same module outputs and metadata, and each
artifact kind string is defined once (in its voicegen.formats module)."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest
import torch

from voicegen.audio.f0 import F0Config
from voicegen.audio.features import compute_mel, get_preset
from voicegen.audio.io import load_audio
from voicegen.audio.stats import compute_stats
from voicegen.errors import ArtifactError, ConfigError
from voicegen.formats import cyclegan, vae, vocoder
from voicegen.models.cyclegan import build_generator as build_cyclegan_generator
from voicegen.models.vae import build_vae
from voicegen.models.vocoder import build_generator
from voicegen.train.vocoder import fill_generator_contract

VC16K = get_preset("vc16k")
PACKAGE = Path(__file__).resolve().parents[2] / "voicegen"
SMALL_G = {"base_channels": 8, "down_channels": 8, "bottleneck_channels": 16, "residual_channels": 16,
           "n_residual": 1, "up_channels": [8, 8]}


def test_vocoder_round_trip(tmp_path) -> None:
    for kind, f0 in (("istft", None), ("source_filter", F0Config(f0_max=600.0))):
        config = fill_generator_contract(kind, {"channels": 16, "intermediate_channels": 32, "n_blocks": 1}, VC16K)
        torch.manual_seed(0)
        generator = build_generator(kind, config).eval()
        path = vocoder.save_vocoder(generator, kind, config, VC16K, tmp_path / kind, f0=f0, dtype=None)
        artifact, meta = vocoder.load_vocoder_artifact(path)
        assert (meta.generator_kind, meta.feature_config, meta.f0) == (kind, VC16K, f0)
        assert meta == vocoder.read_vocoder_meta(path)  # the torch-free reader agrees
        loaded = vocoder.load_vocoder_generator(artifact, meta)
        x = torch.randn(1, generator.in_rows if f0 else 80, 12)
        if f0:
            x[:, 80] = math.log(150.0)
            x[:, 81] = 1.0
            x[:, 82] = 0.5
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), generator(x), atol=1e-6, rtol=0)


def test_set_vocoder_f0_rewrites_only_the_f0_settings(tmp_path) -> None:
    for kind, f0 in (("istft", None), ("source_filter", F0Config(f0_max=600.0))):
        config = fill_generator_contract(kind, {"channels": 16, "intermediate_channels": 32, "n_blocks": 1}, VC16K)
        path = vocoder.save_vocoder(build_generator(kind, config), kind, config, VC16K, tmp_path / kind, f0=f0,
                                    dtype=None)
        before = (path / "artifact.json").read_text()
        weights = (path / "weights.safetensors").read_bytes()
        if f0 is None:
            with pytest.raises(ArtifactError, match="this istft vocoder takes no F0, so it has no F0 settings to change"):
                vocoder.set_vocoder_f0(path, ["voicing_threshold=0.2"])
            continue
        for bad, message in ((["colour=1"], "unknown f0 setting(s) colour; known: method, f0_min"),
                             (["dio_subframes=two"], "f0.dio_subframes must be an integer, got 'two'"),
                             (["f0_min=900"], "0 < f0_min < f0_max"), (["nokey"], "--f0 takes KEY=VALUE")):
            with pytest.raises(ConfigError, match=re.escape(message)):
                vocoder.set_vocoder_f0(path, bad)
            assert (path / "artifact.json").read_text() == before  # nothing half-written
        got = vocoder.set_vocoder_f0(path, ["voicing_threshold=0.2", " dio_subframes = 4", "f0_min=60"])
        assert got == F0Config(f0_max=600.0, voicing_threshold=0.2, dio_subframes=4, f0_min=60.0)
        assert vocoder.read_vocoder_meta(path).f0 == got
        assert (path / "weights.safetensors").read_bytes() == weights
        vocoder.load_vocoder_artifact(path)  # weights still match the rewritten JSON


def test_cyclegan_round_trip(sf1_clip, tm1_clip, tmp_path) -> None:
    torch.manual_seed(0)
    g_ab, g_ba = (build_cyclegan_generator({**SMALL_G, "n_mels": 80}).eval() for _ in range(2))
    stats = {"SF1": compute_stats([sf1_clip], VC16K, progress=False), "TM1": compute_stats([tm1_clip], VC16K,
                                                                                         progress=False)}
    path = cyclegan.save_cyclegan(g_ab, g_ba, {**SMALL_G, "n_mels": 80}, VC16K, stats, tmp_path / "c", dtype=None)
    parts = cyclegan.load_cyclegan_parts(path)
    assert parts.speakers == ("SF1", "TM1") and parts.feature_config == VC16K
    assert parts.stats["TM1"].log_f0_mean == stats["TM1"].log_f0_mean
    mel = torch.from_numpy(compute_mel(load_audio(sf1_clip), VC16K))[None, :, :64]
    with torch.no_grad():
        torch.testing.assert_close(parts.G_ab(mel), g_ab(mel), atol=1e-6, rtol=0)
        torch.testing.assert_close(parts.G_ba(mel), g_ba(mel), atol=1e-6, rtol=0)


def test_vae_round_trip(sf1_clip, tm1_clip, tmp_path) -> None:
    torch.manual_seed(0)
    model = build_vae({"channels": [8, 16], "latent_channels": 4, "n_speakers": 2}).eval()
    stats = {"SF1": compute_stats([sf1_clip], VC16K, progress=False),
             "TM1": compute_stats([tm1_clip], VC16K, progress=False)}
    path = vae.save_vae(model, VC16K, stats, stats["SF1"], tmp_path / "v", dtype=None)
    parts = vae.load_vae_parts(path)
    assert parts.speakers == ("SF1", "TM1") and parts.normalization.mel_mean.tolist() == \
        stats["SF1"].mel_mean.tolist()
    x = torch.randn(1, 1, 80, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = model.encode(x).mean
        torch.testing.assert_close(parts.model.decode(z, torch.tensor([1])), model.decode(z, torch.tensor([1])),
                                   atol=1e-6, rtol=0)


def test_each_artifact_kind_is_defined_once() -> None:
    """A kind string ("vocoder", "cyclegan", "vae") is assigned to a ``*KIND`` name only in its
    voicegen.formats module (others import it)."""
    kinds = {vocoder.KIND: "formats/vocoder.py", cyclegan.KIND: "formats/cyclegan.py", vae.KIND: "formats/vae.py"}
    found: dict[str, list[str]] = {kind: [] for kind in kinds}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in kinds
                    and any(isinstance(t, ast.Name) and t.id.endswith("KIND") for t in node.targets)):
                found[node.value.value].append(path.relative_to(PACKAGE).as_posix())
    assert found == {kind: [where] for kind, where in kinds.items()}
