"""Spectrogram VAE: shapes for any frame count, KL of the prior, one step lowers the loss, speaker conditioning."""

from __future__ import annotations

import pytest
import torch

from voicegen.errors import ConfigError
from voicegen.losses import kl_loss
from voicegen.models.vae import VAE_PRESETS, build_vae, vae_config
from voicegen.nn import DiagonalGaussian

TINY = {"channels": [8, 16], "latent_channels": 4, "n_residual": 1, "speaker_dim": 8}


def tiny(n_speakers: int = 0, seed: int = 0):
    torch.manual_seed(seed)
    return build_vae({**TINY, "n_speakers": n_speakers})


@pytest.mark.parametrize("frames", [1, 5, 23, 32])
def test_shapes_for_any_frame_count(frames: int) -> None:
    model = tiny(n_speakers=3).eval()
    mel = torch.randn(2, 1, 80, frames)
    out = model(mel, torch.tensor([0, 2]))
    assert out.mel_hat.shape == (2, 1, 80, frames)
    assert out.mean.shape == out.logvar.shape == (2, 4, -(-frames // 4))
    assert torch.isfinite(out.mel_hat).all()


def test_eval_uses_the_mean_and_training_samples() -> None:
    model = tiny()
    mel = torch.randn(1, 1, 80, 16)
    model.eval()
    assert torch.equal(model(mel).mel_hat, model(mel).mel_hat)
    model.train()
    a = model(mel, generator=torch.Generator().manual_seed(1)).mel_hat
    b = model(mel, generator=torch.Generator().manual_seed(2)).mel_hat
    assert not torch.allclose(a, b)


def test_kl_of_a_posterior_equal_to_the_prior_is_zero() -> None:
    zeros = torch.zeros(2, 4, 6)
    total, per_dim = kl_loss(zeros, zeros)
    assert float(total) == 0.0 and per_dim.shape == (4,) and torch.equal(per_dim, torch.zeros(4))
    # and a shifted mean gives 0.5 * mean^2 per element: 6 positions * 0.5 = 3 nats per channel
    total, per_dim = kl_loss(torch.ones(2, 4, 6), zeros)
    torch.testing.assert_close(per_dim, torch.full((4,), 3.0))
    assert DiagonalGaussian(zeros, zeros).kl_standard_normal().abs().max() == 0


def test_one_adam_step_lowers_the_loss_on_a_fixed_batch() -> None:
    model = tiny(n_speakers=2)
    mel = torch.randn(4, 1, 80, 16, generator=torch.Generator().manual_seed(3))
    speaker = torch.tensor([0, 1, 0, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def loss() -> torch.Tensor:
        out = model(mel, speaker, generator=torch.Generator().manual_seed(4))
        return (out.mel_hat - mel).abs().mean() + kl_loss(out.mean, out.logvar)[0] / mel[0].numel()

    before = loss()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        assert loss() < before.detach() - 1e-4


def test_speaker_conditioning_changes_the_decoding() -> None:
    model = tiny(n_speakers=2).eval()
    z = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        as_0 = model.decode(z, torch.tensor([0, 0]))
        as_1 = model.decode(z, torch.tensor([1, 1]))
        mixed = model.decode(z, torch.tensor([0, 1]))
    assert as_0.shape == (2, 1, 80, 20)
    assert (as_0 - as_1).abs().mean() > 1e-3
    torch.testing.assert_close(mixed[0], as_0[0])
    torch.testing.assert_close(mixed[1], as_1[1])
    assert model.decode(z, torch.tensor([0, 0]), frames=17).shape[-1] == 17


def test_speaker_ids_are_checked() -> None:
    with pytest.raises(ValueError, match=r"this model decodes 2 speakers; pass speaker ids"):
        tiny(n_speakers=2)(torch.randn(1, 1, 80, 8))
    with pytest.raises(ValueError, match=r"speaker must be 1 ids in \[0, 2\), got \[2\]"):
        tiny(n_speakers=2)(torch.randn(1, 1, 80, 8), torch.tensor([2]))
    with pytest.raises(ValueError, match="has no speakers"):
        tiny()(torch.randn(1, 1, 80, 8), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"expected a mel image \(B, 1, 80, frames\), got shape \(1, 80, 8\)"):
        tiny()(torch.randn(1, 80, 8))


def test_config_presets_and_errors() -> None:
    assert VAE_PRESETS["cpu"].stride == 4 and VAE_PRESETS["large"].stride == 8
    assert vae_config({"preset": "large", "latent_channels": 8}).channels == (64, 128, 256)
    with pytest.raises(ConfigError, match="n_mels 36 is not divisible by the total stride 8"):
        vae_config({"preset": "large", "n_mels": 36})
    with pytest.raises(ConfigError, match="unknown VAE preset 'huge'"):
        vae_config({"preset": "huge"})
    with pytest.raises(ConfigError):
        vae_config({"latent": 3})
