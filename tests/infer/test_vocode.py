"""Vocoding with an exported vocoder: load == in-memory, chunked == whole, files and folders, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf
import torch

from voicegen.audio.features import compute_mel, get_preset
from voicegen.audio.io import AudioWarning, load_audio
from voicegen.audio.writer import GUARD_PEAK, save_audio
from voicegen.checkpoint import save_artifact
from voicegen.errors import ArtifactError, AudioError, ConfigError
from voicegen.formats.vocoder import save_vocoder
from voicegen.infer.commands import run_vocode
from voicegen.infer.options import BatchOptions
from voicegen.infer.vocode import (
    clip_guard,
    load_mel_file,
    load_vocoder,
    vocode_to,
)
from voicegen.models.vocoder import build_generator
from voicegen.train.vocoder import fill_generator_contract

VC16K = get_preset("vc16k")
HOP = VC16K.hop_length
TINY = {
    "hifigan": {"upsample_initial_channel": 32, "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
                "resblock_kind": 2, "resblock_kernel_sizes": [3], "resblock_dilations": [[1, 2]]},
    "istft": {"channels": 32, "intermediate_channels": 64, "n_blocks": 2},
}


def tiny_generator(kind: str) -> tuple[torch.nn.Module, dict]:
    config = fill_generator_contract(kind, TINY[kind], VC16K)
    torch.manual_seed(3)
    generator = build_generator(kind, config)
    with torch.no_grad():  # a trained-looking output level rather than the near-silent init
        for p in generator.parameters():
            p.mul_(1.5)
    return generator.eval(), config


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """(generator, artifact path) per kind, exported in float32 and (hifigan) float16."""
    root = tmp_path_factory.mktemp("vocoders")
    out = {}
    for kind in ("hifigan", "istft"):
        generator, config = tiny_generator(kind)
        out[kind] = (generator, save_vocoder(generator, kind, config, VC16K, root / kind, dtype=None))
        if kind == "hifigan":
            out["hifigan16"] = (generator, save_vocoder(generator, kind, config, VC16K, root / "h16"))
    return out


def random_mel(frames: int, seed: int = 0) -> torch.Tensor:
    return -6 + 2 * torch.randn(80, frames, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("name", "atol"), [("hifigan", 1e-5), ("istft", 1e-5), ("hifigan16", 3e-2)])
def test_export_then_load_matches_the_in_memory_generator(exported, name, atol) -> None:
    generator, path = exported[name]
    vocoder = load_vocoder(path, "cpu")
    assert vocoder.feature_config == VC16K and not vocoder.generator.training
    assert next(vocoder.generator.parameters()).dtype == torch.float32
    mel = random_mel(40)
    with torch.no_grad():
        expected = generator(mel[None])[0, 0].numpy()
    got = vocoder.wav_from_mel(mel)
    assert got.shape == (40 * HOP,) and got.dtype == np.float32
    scale = np.abs(expected).max()
    assert scale > 1e-3
    assert np.abs(got - expected).max() <= atol * scale  # float16 weights: within ~1% of the peak


@pytest.mark.parametrize("kind", ["hifigan", "istft"])
def test_chunked_vocoding_equals_whole_input(exported, kind) -> None:
    vocoder = load_vocoder(exported[kind][1])
    mel = random_mel(450, seed=1)
    whole = vocoder.wav_from_mel(mel, chunk_frames=10_000)
    chunked = vocoder.wav_from_mel(mel, chunk_frames=100, context_frames=32)
    scale = np.abs(whole).max()
    assert chunked.shape == whole.shape == (450 * HOP,)
    assert np.abs(chunked - whole).max() <= 1e-5 * scale
    no_context = vocoder.wav_from_mel(mel, chunk_frames=100, context_frames=0)
    assert np.abs(no_context - whole).max() > 1e-3 * scale  # the context is what makes them equal


def test_check_contract_names_the_differing_fields(exported) -> None:
    vocoder = load_vocoder(exported["istft"][1])
    vocoder.check_contract(get_preset("vc16k"))
    other = dataclasses.replace(VC16K, n_mels=64, fmax=7600.0)
    with pytest.raises(ConfigError) as info:
        vocoder.check_contract(other)
    assert str(info.value) == (f"mel contract mismatch with vocoder {exported['istft'][1]}: n_mels 64 vs 80, "
                               "fmax 7600.0 vs 8000.0 (required vs vocoder); use a vocoder trained on the "
                               "same features")
    with pytest.raises(ConfigError, match=r": sample_rate 22050 vs 16000 \(required vs vocoder\)"):
        vocoder.check_contract(get_preset("hifigan22k"))


def test_copy_synthesis_of_a_file_keeps_length_and_rate(exported, sf1_clip, tmp_path) -> None:
    vocoder = load_vocoder(exported["hifigan"][1])
    out = tmp_path / "out.wav"
    assert vocode_to(sf1_clip, out, vocoder) == out
    info, source = sf.info(str(out)), sf.info(str(sf1_clip))
    assert info.samplerate == 16000 and info.frames == source.frames == 62201
    assert np.abs(load_audio(out)).max() > 1e-3
    with pytest.raises(AudioError, match="out.wav: already exists; pass --overwrite"):
        vocode_to(sf1_clip, out, vocoder)
    vocode_to(sf1_clip, tmp_path, vocoder, overwrite=True)  # a folder output takes the input's name
    assert (tmp_path / "SF1_200001.wav").is_file()


def test_folder_input_is_mirrored(exported, sf1_clip, tmp_path) -> None:
    model = exported["istft"][1]
    src = tmp_path / "in"
    wav = load_audio(sf1_clip)[:8000]
    save_audio(src / "sub" / "a.wav", wav, 16000)
    np.save(src / "b.npy", compute_mel(wav[:5120], VC16K))  # 20 frames
    (src / "notes.txt").write_text("not audio")
    quiet = BatchOptions(progress=False)
    summary = run_vocode(src, tmp_path / "out", model=model, batch=quiet, echo=lambda line, is_error: None)
    assert (summary.done, summary.failed, summary.total) == (2, 0, 2)
    assert sf.info(str(tmp_path / "out" / "sub" / "a.wav")).frames == 8000
    assert sf.info(str(tmp_path / "out" / "b.wav")).frames == 20 * HOP
    again = run_vocode(src, tmp_path / "out", model=model, batch=quiet, echo=lambda line, is_error: None)
    assert (again.done, again.skipped) == (0, 2)
    np.save(src / "sub" / "a.npy", compute_mel(wav[:5120], VC16K))
    with pytest.raises(AudioError, match="two inputs would write this file"):
        run_vocode(src, tmp_path / "out2", model=model, batch=quiet)
    with pytest.raises(AudioError, match="is a folder: vocode folders with voicegen.infer.commands.run_vocode"):
        vocode_to(src, tmp_path / "out3", load_vocoder(model))


def test_npy_inputs_must_be_finite_2d_mels_of_the_right_size(tmp_path) -> None:
    cases = {
        "t.npy": np.zeros((3, 80), np.float32),
        "c.npy": np.zeros((1, 80, 10), np.float32),
        "i.npy": np.zeros((80, 10), np.int64),
        "n.npy": np.full((80, 10), np.nan, np.float32),
    }
    for name, array in cases.items():
        np.save(tmp_path / name, array)
    expected = "expected a 2-D log-mel shaped (80, frames) for this vocoder"
    with pytest.raises(AudioError) as info:
        load_mel_file(tmp_path / "t.npy", 80)
    assert str(info.value) == f"{tmp_path / 't.npy'}: {expected}, got shape (3, 80); make it with `voicegen features` (or give audio)"
    with pytest.raises(AudioError, match=r"got shape \(1, 80, 10\)"):
        load_mel_file(tmp_path / "c.npy", 80)
    with pytest.raises(AudioError, match="of finite floats, got dtype int64"):
        load_mel_file(tmp_path / "i.npy", 80)
    with pytest.raises(AudioError, match="of finite floats, got dtype float32 with NaN/Inf"):
        load_mel_file(tmp_path / "n.npy", 80)
    (tmp_path / "x.npy").write_text("not numpy")
    with pytest.raises(AudioError, match=r"x.npy: not a NumPy .npy file \(no .npy header\); expected a 2-D"):
        load_mel_file(tmp_path / "x.npy", 80)
    assert load_mel_file(_saved(tmp_path, np.ones((80, 4))), 80).dtype == np.float32


def _saved(folder, array):
    np.save(folder / "ok.npy", array)
    return folder / "ok.npy"


def test_clip_guard_scales_down_only_beyond_full_scale() -> None:
    quiet = np.array([0.5, -1.0, 0.2], np.float32)
    assert clip_guard(quiet, "x") is quiet
    with pytest.warns(AudioWarning, match=r"x: vocoder output peaks at 2.00 .* scaled down by -6.1 dB"):
        loud = clip_guard(np.array([0.5, -2.0], np.float32), "x")
    np.testing.assert_allclose(loud, [0.25 * GUARD_PEAK, -GUARD_PEAK], rtol=1e-6)


def test_load_vocoder_refuses_other_artifacts(tmp_path) -> None:
    save_artifact(tmp_path / "vae", kind="vae", weights={"m": {"w": torch.zeros(2)}}, config={})
    with pytest.raises(ArtifactError, match="is a 'vae' artifact, expected 'vocoder'"):
        load_vocoder(tmp_path / "vae")
    generator, config = tiny_generator("istft")
    wrong = {**config, "channels": 16}
    save_artifact(tmp_path / "bad", kind="vocoder", weights={"generator": generator.state_dict()},
                  config={"generator_kind": "istft", "generator": wrong}, mel=VC16K.to_dict())
    with pytest.raises(ArtifactError, match=r"generator weights do not fit its config \(embed.weight is "
                                            r"\(32, 80, 7\), expected \(16, 80, 7\); .*\(\+\d+ more\)\); "
                                            r"re-export the vocoder$"):
        load_vocoder(tmp_path / "bad")


def test_load_vocoder_refuses_a_mel_contract_with_another_hop(tmp_path) -> None:
    generator, config = tiny_generator("hifigan")
    other_hop = dataclasses.replace(VC16K, hop_length=128)
    with pytest.raises(ConfigError, match="multiply to 256 but the mel contract's hop_length is 128"):
        save_vocoder(generator, "hifigan", config, other_hop, tmp_path / "v")
    save_artifact(tmp_path / "v", kind="vocoder", weights={"generator": generator.state_dict()},
                  config={"generator_kind": "hifigan", "generator": config}, mel=other_hop.to_dict())
    with pytest.raises(ArtifactError) as info:
        load_vocoder(tmp_path / "v")
    assert str(info.value) == (f"{tmp_path / 'v'}: generator upsample_rates (8, 8, 4) multiply to 256 but the mel "
                               "contract's hop_length is 128; change upsample_rates")
