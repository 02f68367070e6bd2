"""The source-filter vocoder's imposed parts: the harmonic source, the frame phases, the input rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from voicegen.infer.vocode import PhaseRows
from voicegen.models.vocoder import (
    SourceFilterGenerator,
    SourceFilterGeneratorConfig,
    build_generator,
    frame_phase,
    generator_kind,
    harmonic_excitation,
)

SR, HOP, PAD = 16000, 256, 384


@pytest.mark.parametrize("f0", [97.0, 200.0, 431.0])
def test_constant_f0_source_is_the_band_limited_harmonic_sum(f0: float) -> None:
    frames = 12
    lf0 = torch.full((1, frames), math.log(f0), dtype=torch.float64)
    phase = frame_phase(lf0, torch.zeros(1, dtype=torch.float64), SR, HOP)
    source = harmonic_excitation(lf0, phase, SR, HOP, PAD)[0].numpy()
    assert source.shape == ((frames - 1) * HOP + 2 * PAD + HOP,)
    n = np.arange(source.shape[0]) - PAD
    theta = 2 * np.pi * f0 * (n - HOP // 2) / SR  # phase 0 at the centre of frame 0
    count = SR / 2 / f0
    top = math.floor(count)
    brute = sum(np.cos(k * theta) for k in range(1, top)) + (count - top) * np.cos(top * theta)
    np.testing.assert_allclose(source, brute * math.sqrt(2 * f0 / SR), atol=1e-8)
    assert 0.4 < np.mean(source ** 2) < 0.6  # power ~0.5 whatever F0


def test_glide_source_integrates_the_interpolated_frequency() -> None:
    frames = 40
    f0 = np.geomspace(90.0, 360.0, frames)
    lf0 = torch.log(torch.from_numpy(f0))[None]
    phase = frame_phase(lf0, torch.tensor([1.0], dtype=torch.float64), SR, HOP)
    source = harmonic_excitation(lf0, phase, SR, HOP, PAD)[0].numpy()
    # Reference: frequency linear between frame centres (i * hop + hop / 2), constant outside;
    # phase = trapezoidal integral of it (exact for a piecewise-linear frequency) from frame 0.
    n = np.arange(source.shape[0]) - PAD
    centres = np.arange(frames) * HOP + HOP // 2
    freq = np.interp(n, centres, f0)
    theta = np.concatenate([[0.0], np.cumsum(0.5 * (freq[1:] + freq[:-1]))]) * 2 * np.pi / SR
    theta += 1.0 - theta[np.searchsorted(n, HOP // 2)]
    count = SR / 2 / freq
    top = np.floor(count)
    k = np.arange(1, int(top.max()) + 1)[:, None]
    brute = (np.where(k < top, np.cos(k * theta), 0.0).sum(0) + (count - top) * np.cos(top * theta))
    np.testing.assert_allclose(source, brute * np.sqrt(2 * freq / SR), atol=1e-5)


def test_streamed_phase_rows_equal_frame_phase() -> None:
    rng = np.random.default_rng(0)
    lf0 = np.log(rng.uniform(80, 400, size=57)).astype(np.float32)
    rows = np.concatenate([np.zeros((80, 57), np.float32), lf0[None], np.ones((1, 57), np.float32)])
    stage, parts, i = PhaseRows(80, SR, HOP), [], 0
    for step in (5, 1, 20, 31):
        parts.append(stage.push(rows[:, i:i + step]))
        i += step
    parts.append(stage.finish())
    streamed = np.concatenate(parts, axis=1)
    assert streamed.shape == (83, 57) and np.array_equal(streamed[:82], rows)
    reference = frame_phase(torch.from_numpy(lf0)[None].double(), torch.zeros(1, dtype=torch.float64), SR, HOP)
    np.testing.assert_allclose(streamed[82], reference[0].numpy(), atol=1e-5)


def test_generator_takes_mel_and_three_rows() -> None:
    generator = build_generator("source_filter", {"channels": 16, "intermediate_channels": 32, "n_blocks": 1})
    assert isinstance(generator, SourceFilterGenerator) and generator_kind(generator) == "source_filter"
    assert generator.in_rows == 83 and generator.needs_f0
    x = torch.cat([torch.randn(2, 80, 9) - 5, torch.full((2, 1, 9), 5.0), torch.ones(2, 1, 9),
                   torch.zeros(2, 1, 9)], dim=1)
    assert generator(x).shape == (2, 1, 9 * 256)
    with pytest.raises(ValueError, match=r"expected a mel \(B, 83, frames\), got shape \(2, 80, 9\)"):
        generator(x[:, :80])


def test_config_validates() -> None:
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        SourceFilterGeneratorConfig(kernel_size=4)
    with pytest.raises(ValueError, match="need hop_length <= win_length <= n_fft"):
        SourceFilterGeneratorConfig(hop_length=2048)


def test_added_phase_starts_at_zero_and_turns_the_harmonic_part_by_its_sine_series() -> None:
    settings = {"channels": 16, "intermediate_channels": 32, "n_blocks": 1}
    torch.manual_seed(0)
    plain = build_generator("source_filter", settings).eval()
    mixed = build_generator("source_filter", {**settings, "phase_terms": 4}).eval()
    result = mixed.load_state_dict(plain.state_dict(), strict=False)
    assert result.missing_keys == ["phase_proj.weight", "phase_proj.bias"] and not result.unexpected_keys
    x = torch.cat([torch.randn(1, 80, 7) - 5, torch.full((1, 1, 7), 5.0), torch.ones(1, 1, 7),
                   torch.zeros(1, 1, 7)], dim=1)
    with torch.no_grad():
        assert torch.equal(mixed(x), plain(x))  # the layer starts at 0: the same output as without it
        assert mixed.filter_params(x).shape == (1, 3 * 513 + 4, 7)
        d = torch.tensor([0.5, -0.25, 0.125, 1.0])
        mixed.phase_proj.bias.copy_(d)
        harmonic, residual = mixed.spectrum_parts(x)
        plain_harmonic, plain_residual = plain.spectrum_parts(x)
    omega = 2 * math.pi * torch.arange(513, dtype=torch.float64) / 1024
    phi = sum(float(d[n - 1]) * torch.sin(n * omega) for n in range(1, 5))
    expected = plain_harmonic * torch.polar(torch.ones(513), phi.float())[None, :, None]
    torch.testing.assert_close(harmonic, expected, atol=1e-5, rtol=1e-4)
    assert torch.equal(residual, plain_residual)
    assert float((harmonic - plain_harmonic).abs().max()) > 1e-3


def test_phase_terms_must_be_a_count() -> None:
    with pytest.raises(ValueError, match="phase_terms must be an integer >= 0, got -1"):
        SourceFilterGeneratorConfig(phase_terms=-1)
