"""Vocoder models: output lengths, hop checks, discriminator shapes, weight norm, one step, save/load."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from voicegen.checkpoint import load_artifact, save_artifact
from voicegen.config import to_dict
from voicegen.errors import ConfigError
from voicegen.losses import adversarial_d_loss, adversarial_g_loss, feature_matching_loss, mel_l1_loss
from voicegen.models.vocoder import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    DiscriminatorConfig,
    GeneratorConfig,
    HiFiGANGenerator,
    ISTFTGenerator,
    ISTFTGeneratorConfig,
    MultiPeriodDiscriminator,
    MultiResolutionSpectrogramDiscriminator,
    MultiScaleDiscriminator,
    VocoderDiscriminator,
    build_discriminator,
    build_generator,
    generator_kind,
    overlap_add_istft,
    padded_window,
)
from voicegen.nn import has_weight_norm

N_MELS = 16
TINY_HIFIGAN = GeneratorConfig(
    n_mels=N_MELS, upsample_initial_channel=32, upsample_rates=(4, 4), upsample_kernel_sizes=(8, 8),
    resblock_kind=1, resblock_kernel_sizes=(3, 5), resblock_dilations=((1, 3), (1, 2)),
)
TINY_ISTFT = ISTFTGeneratorConfig(
    n_mels=N_MELS, channels=32, intermediate_channels=64, n_blocks=2, n_fft=64, hop_length=16, win_length=64
)
LIGHT_MPD = (4, 8, 16, 16)
LIGHT_MSD = (8, 8, 16, 16, 32, 32, 32)
LIGHT_MSD_GROUPS = (1, 4, 4, 4, 4, 4, 1)


def _mel_fn(n_fft: int, hop: int):
    """A differentiable log-mel-like transform: |STFT| (HiFi-GAN padding) times a fixed random filterbank."""
    basis = torch.rand(N_MELS, n_fft // 2 + 1, generator=torch.Generator().manual_seed(7))
    window = torch.hann_window(n_fft)

    def mel_fn(wav: torch.Tensor) -> torch.Tensor:
        pad = (n_fft - hop) // 2
        x = F.pad(wav.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
        spec = torch.stft(x, n_fft, hop, n_fft, window, center=False, return_complex=True)
        return torch.log(torch.clamp(basis @ spec.abs(), min=1e-5))

    return mel_fn


# ---------------------------------------------------------------------------------------------
# generators


@pytest.mark.parametrize("preset", ["v1", "v2", "v3", "v1_istft"])
def test_hifigan_presets_output_frames_times_hop(preset: str) -> None:
    torch.manual_seed(0)
    gen = HiFiGANGenerator(GENERATOR_PRESETS[preset])
    assert gen.hop_length == 256
    gen.validate_hop(256)
    with torch.no_grad():
        wav = gen(torch.randn(2, 80, 3))
    assert wav.shape == (2, 1, 3 * 256)
    assert torch.isfinite(wav).all()
    if preset != "v1_istft":
        assert wav.abs().max() < 1.0  # tanh head


@pytest.mark.parametrize("preset,paper_millions", [("v1", 13.92), ("v2", 0.92), ("v3", 1.46)])
def test_hifigan_parameter_counts_match_the_paper(preset: str, paper_millions: float) -> None:
    gen = HiFiGANGenerator(GENERATOR_PRESETS[preset]).remove_weight_norm()
    count = sum(p.numel() for p in gen.parameters()) / 1e6
    assert abs(count - paper_millions) / paper_millions < 0.01, count


def test_hifigan_v1_preset_is_the_dataclass_default() -> None:
    v1 = GENERATOR_PRESETS["v1"]
    assert v1 == GeneratorConfig()
    assert v1.upsample_rates == (8, 8, 2, 2) and v1.upsample_kernel_sizes == (16, 16, 4, 4)
    assert (v1.upsample_initial_channel, v1.resblock_kind, v1.resblock_kernel_sizes) == (512, 1, (3, 7, 11))
    v3 = GENERATOR_PRESETS["v3"]
    assert (v3.resblock_kind, v3.resblock_dilations, v3.hop_length) == (2, ((1, 2), (2, 6), (3, 12)), 256)


@pytest.mark.parametrize("n_fft,hop,win", [(1024, 256, 1024), (512, 160, 400)])
def test_istft_generator_output_frames_times_hop(n_fft: int, hop: int, win: int) -> None:
    torch.manual_seed(0)
    config = ISTFTGeneratorConfig(
        n_mels=N_MELS, channels=32, intermediate_channels=64, n_blocks=2, n_fft=n_fft, hop_length=hop, win_length=win
    )
    gen = ISTFTGenerator(config)
    gen.validate_hop(hop)
    for frames in (1, 5):
        with torch.no_grad():
            wav = gen(torch.randn(3, N_MELS, frames))
        assert wav.shape == (3, 1, frames * hop)
        assert torch.isfinite(wav).all()


@pytest.mark.parametrize("n_fft,hop,win", [(1024, 256, 1024), (512, 160, 400), (16, 4, 16)])
def test_overlap_add_istft_inverts_the_mel_contract_stft(n_fft: int, hop: int, win: int) -> None:
    torch.manual_seed(0)
    frames = 7
    wav = torch.randn(2, frames * hop)
    pad = (n_fft - hop) // 2
    padded = F.pad(wav.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    spec = torch.stft(padded, n_fft, hop, win, torch.hann_window(win), center=False, return_complex=True)
    assert spec.shape[-1] == frames
    wav_hat = overlap_add_istft(spec, n_fft, hop, padded_window("hann", win, n_fft))
    assert wav_hat.shape == (2, 1, frames * hop)
    torch.testing.assert_close(wav_hat[:, 0], wav, atol=1e-5, rtol=0)


def test_hop_mismatch_is_refused_with_one_clear_line() -> None:
    gen = HiFiGANGenerator(GENERATOR_PRESETS["v2"])
    with pytest.raises(ValueError) as err:
        gen.validate_hop(160)
    assert str(err.value) == (
        "generator upsample_rates (8, 8, 2, 2) multiply to 256 but the mel contract's hop_length is 160; "
        "change upsample_rates"
    )
    expected = r"^istft generator hop_length is 16 but the mel contract's hop_length is 160;"
    with pytest.raises(ValueError, match=expected):
        ISTFTGenerator(TINY_ISTFT).validate_hop(160)


def test_generator_rejects_bad_input_and_bad_config() -> None:
    gen = HiFiGANGenerator(TINY_HIFIGAN)
    with pytest.raises(ValueError, match=r"expected a mel \(B, 16, frames\), got shape \(2, 1, 16, 5\); squeeze"):
        gen(torch.randn(2, 1, N_MELS, 5))
    with pytest.raises(ValueError, match="resblock_kernel_sizes must be odd"):
        GeneratorConfig(resblock_kernel_sizes=(3, 6, 11))
    with pytest.raises(ConfigError, match=r"unknown key 'upsample_rate'.*did you mean"):
        build_generator("hifigan", {"upsample_rate": [8, 8, 4]})
    with pytest.raises(ConfigError, match="unknown generator preset 'v9'"):
        build_generator("hifigan", {"preset": "v9"})


def test_build_generator_from_dicts() -> None:
    gen = build_generator("hifigan", {"preset": "v3", "n_mels": 40})
    assert isinstance(gen, HiFiGANGenerator)
    assert gen.config == dataclasses.replace(GENERATOR_PRESETS["v3"], n_mels=40)
    istft = build_generator("istft", {"n_mels": 16, "channels": 32, "n_blocks": 1, "hop_length": 160,
                                      "win_length": 640, "n_fft": 1024})
    assert isinstance(istft, ISTFTGenerator) and istft.hop_length == 160
    assert generator_kind(gen) == "hifigan" and generator_kind(istft) == "istft"


def test_weight_norm_init_and_removal_keep_outputs() -> None:
    torch.manual_seed(0)
    gen = HiFiGANGenerator(GENERATOR_PRESETS["v3"]).eval()
    # N(0, 0.01) init reaches the weight-normed convs (not just a temporary copy of the weight).
    assert abs(gen.conv_pre.weight.std().item() - 0.01) < 0.001
    mel = torch.randn(2, 80, 5)
    with torch.no_grad():
        before = gen(mel)
        gen.remove_weight_norm()
        after = gen(mel)
    assert not has_weight_norm(gen)
    assert "conv_pre.weight" in gen.state_dict()
    torch.testing.assert_close(after, before, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["hifigan", "istft"])
def test_one_adam_step_lowers_mel_l1(kind: str) -> None:
    torch.manual_seed(0)
    gen = HiFiGANGenerator(TINY_HIFIGAN) if kind == "hifigan" else ISTFTGenerator(TINY_ISTFT)
    mel_fn = _mel_fn(64, gen.hop_length)
    t = torch.arange(24 * gen.hop_length) / 4000.0
    wav = 0.5 * torch.sin(2 * math.pi * torch.tensor([[220.0], [330.0]]) * t)
    mel = mel_fn(wav)
    optimizer = torch.optim.Adam(gen.parameters(), lr=1e-4)
    losses = []
    for _ in range(2):
        loss = mel_l1_loss(gen(mel), wav, mel_fn)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert losses[1] < losses[0]


@pytest.mark.parametrize("kind", ["hifigan", "istft"])
def test_save_load_artifact_gives_identical_outputs(kind: str, tmp_path) -> None:
    torch.manual_seed(0)
    gen = HiFiGANGenerator(TINY_HIFIGAN) if kind == "hifigan" else ISTFTGenerator(TINY_ISTFT)
    gen.eval()
    mel = torch.randn(1, N_MELS, 7)
    with torch.no_grad():
        expected = gen(mel)
    save_artifact(tmp_path / "vocoder", kind="vocoder", weights={"generator": gen.state_dict()},
                  config={"kind": generator_kind(gen), "generator": gen.config})
    art = load_artifact(tmp_path / "vocoder", expected_kind="vocoder")
    torch.manual_seed(1)  # a different init, overwritten by the loaded weights
    loaded = build_generator(art.config["kind"], art.config["generator"], source=str(art.path)).eval()
    loaded.load_state_dict(art.weights["generator"])
    assert loaded.config == gen.config
    with torch.no_grad():
        assert torch.equal(loaded(mel), expected)


# ---------------------------------------------------------------------------------------------
# discriminators


def _ceil_div(n: int, d: int) -> int:
    return -(-n // d)


@pytest.mark.parametrize("length", [1001, 2047])
def test_mpd_shapes_for_odd_lengths(length: int) -> None:
    torch.manual_seed(0)
    periods = (2, 3, 5, 7, 11)
    mpd = MultiPeriodDiscriminator(periods, LIGHT_MPD)
    logits, feats = mpd(torch.randn(2, 1, length))
    assert mpd.names == ["mpd_p2", "mpd_p3", "mpd_p5", "mpd_p7", "mpd_p11"]
    assert len(logits) == len(feats) == len(periods)
    for p, out, layers in zip(periods, logits, feats):
        rows = _ceil_div(length, p)
        for _ in range(len(LIGHT_MPD) - 1):  # stride-3 convs; the last conv has stride 1
            rows = _ceil_div(rows, 3)
        assert out.shape == (2, rows * p)
        assert len(layers) == len(LIGHT_MPD)
        assert [f.shape[1] for f in layers] == list(LIGHT_MPD)
        assert layers[-1].shape[-2:] == (rows, p)


@pytest.mark.parametrize("length", [1001, 2047])
def test_msd_shapes_for_odd_lengths(length: int) -> None:
    torch.manual_seed(0)
    msd = MultiScaleDiscriminator(3, LIGHT_MSD, LIGHT_MSD_GROUPS)
    logits, feats = msd(torch.randn(2, length))  # (B, T) input is accepted too
    assert msd.names == ["msd_s0", "msd_s1", "msd_s2"]
    scale_length = length
    for i, (out, layers) in enumerate(zip(logits, feats)):
        if i:
            scale_length = scale_length // 2 + 1  # avg-pool kernel 4, stride 2, padding 2
        n = scale_length
        for stride in (1, 2, 2, 4, 4, 1, 1):
            n = _ceil_div(n, stride)
        assert out.shape == (2, n)
        assert len(layers) == 7 and layers[-1].shape == (2, LIGHT_MSD[-1], n)
    # the raw-waveform scale uses spectral norm, the pooled ones weight norm
    assert not has_weight_norm(msd.discriminators[0]) and has_weight_norm(msd.discriminators[1])


def test_mrd_shapes() -> None:
    torch.manual_seed(0)
    mrd = MultiResolutionSpectrogramDiscriminator(((256, 64, 256), (128, 32, 128)), channels=4, n_layers=2)
    logits, feats = mrd(torch.randn(2, 1, 2047))
    assert mrd.names == ["mrd_256", "mrd_128"]
    for (n_fft, hop), out, layers in zip(((256, 64), (128, 32)), logits, feats):
        freq, frames = n_fft // 2 + 1, 2047 // hop + 1
        patch = mrd.discriminators[0].patchgan
        assert out.shape == (2, patch.output_size(freq) * patch.output_size(frames))
        assert len(layers) == 3


def test_vocoder_discriminator_feeds_the_losses() -> None:
    torch.manual_seed(0)
    config = DiscriminatorConfig(
        periods=(2, 3), mpd_channels=LIGHT_MPD, msd_scales=2, msd_channels=LIGHT_MSD, msd_groups=LIGHT_MSD_GROUPS,
        mrd_resolutions=((256, 64, 256),), mrd_channels=4, mrd_layers=2,
    )
    disc = VocoderDiscriminator(config)
    assert disc.names == ["mpd_p2", "mpd_p3", "msd_s0", "msd_s1", "mrd_256"]
    wav = torch.randn(2, 1, 2001).clamp(-1, 1)
    wav_hat = (0.1 * torch.randn(2, 1, 2001)).requires_grad_()
    logits_real, feats_real = disc(wav)
    logits_fake, feats_fake = disc(wav_hat.detach())
    assert len(logits_real) == len(feats_real) == len(disc.names)
    adversarial_d_loss(logits_real, logits_fake).backward()
    assert all(p.grad is not None for p in disc.parameters())
    logits_fake, feats_fake = disc(wav_hat)
    loss_g = adversarial_g_loss(logits_fake) + feature_matching_loss(feats_real, feats_fake)
    loss_g.backward()
    assert wav_hat.grad is not None and wav_hat.grad.abs().sum() > 0


def test_discriminator_presets_and_config_errors() -> None:
    assert DISCRIMINATOR_PRESETS["paper"] == DiscriminatorConfig()
    cpu = build_discriminator({"preset": "cpu"})
    assert cpu.config == DISCRIMINATOR_PRESETS["cpu"]
    assert build_discriminator({"preset": "cpu", "periods": [2, 3]}).names[:3] == ["mpd_p2", "mpd_p3", "mrd_512"]
    assert build_discriminator(to_dict(cpu.config)).config == cpu.config  # JSON/YAML round trip
    with pytest.raises(ConfigError, match=r"msd_groups\[2\]=16 must divide the layer's channels 8 -> 24"):
        build_discriminator({"msd_channels": [8, 8, 24, 32, 32, 32, 32]})
    with pytest.raises(ConfigError, match="selects no discriminator"):
        build_discriminator({"periods": [], "msd_scales": 0})


def test_input_halvings_feed_the_discriminators_the_pooled_waveform() -> None:
    whole = build_discriminator({"preset": "cpu", "mrd_resolutions": [[128, 32, 128]]})
    low = build_discriminator({"preset": "cpu", "mrd_resolutions": [[128, 32, 128]], "input_halvings": 2})
    low.load_state_dict(whole.state_dict())  # the same weights: pooling adds none
    wav = torch.randn(2, 1, 4096, generator=torch.Generator().manual_seed(0))
    pooled = F.avg_pool1d(F.avg_pool1d(wav, 4, 2, padding=2), 4, 2, padding=2)  # MSD's pooling, twice
    assert pooled.shape[-1] == 1025
    got, want = low(wav), whole(pooled)
    for a, b in zip(got[0] + [f for fs in got[1] for f in fs], want[0] + [f for fs in want[1] for f in fs]):
        torch.testing.assert_close(a, b)
    with pytest.raises(ConfigError, match="input_halvings must be an integer >= 0, got -1"):
        build_discriminator({"preset": "cpu", "input_halvings": -1})
