"""recipes/vocoder16k/local/harmonic_share.py and the generator's spectrum_parts it reads: the two parts add up to
what the generator synthesises."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from voicegen.models.vocoder.istft import LOG_MAGNITUDE_MAX, overlap_add_istft
from voicegen.models.vocoder.source_filter import SourceFilterGenerator, SourceFilterGeneratorConfig, frame_phase

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "recipes" / "vocoder16k" / "local"))
import harmonic_share  # noqa: E402


def test_harmonic_plus_residual_is_the_generators_output() -> None:
    torch.manual_seed(0)
    generator = SourceFilterGenerator(SourceFilterGeneratorConfig(channels=16, intermediate_channels=32, n_blocks=1))
    frames = 12
    lf0 = torch.log(torch.linspace(110.0, 220.0, frames))[None]
    x = torch.cat([torch.randn(1, 80, frames) - 4.0, lf0[:, None], torch.ones(1, 1, frames),
                   frame_phase(lf0, torch.zeros(1), 16000, 256)[:, None]], dim=1)
    with torch.no_grad():
        harmonic, residual = generator.spectrum_parts(x)
        wav = overlap_add_istft(harmonic + residual, 1024, 256, generator.window)
        expected = generator(x)
        # the same parts from the network's rows by the formulas of the module doc, in complex arithmetic
        log_gain, log_res, res_phase = generator.filter_params(x).split(generator.n_bins, dim=1)
        log_gain = log_gain.clamp(max=LOG_MAGNITUDE_MAX)
        src_re, src_im = generator._source_spectrum(lf0, x[:, 82])
        by_formula = log_gain.exp() * torch.exp(1j * generator._minimum_phase(log_gain)) * torch.complex(src_re, src_im)
    assert torch.allclose(wav, expected, atol=1e-5)
    assert torch.allclose(harmonic, by_formula, atol=1e-5)
    assert torch.allclose(residual, log_res.clamp(max=LOG_MAGNITUDE_MAX).exp() * torch.exp(1j * res_phase), atol=1e-5)
    assert harmonic.abs().mean() > 0 and residual.abs().mean() > 0
    powers = harmonic_share.band_powers(generator, x[0, :82].numpy(), 16000)
    assert powers.shape == (5, 2) and (powers > 0).all()
