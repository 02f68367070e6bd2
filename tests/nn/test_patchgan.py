"""PatchGAN discriminator: output shapes (1-D and 2-D, odd sizes), features, norms, one training step."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from voicegen.losses import adversarial_d_loss
from voicegen.nn import PatchGANDiscriminator


def _expected(size: int, n_layers: int) -> int:
    # kernel 4, padding 1: stride-2 layers floor(L / 2), then two stride-1 layers L - 1 each.
    for _ in range(n_layers):
        size //= 2
    return size - 2


@pytest.mark.parametrize("n_layers", [1, 3])
def test_patchgan_2d_output_shape_for_odd_sizes(n_layers: int) -> None:
    disc = PatchGANDiscriminator(2, 3, base_channels=4, n_layers=n_layers)
    x = torch.randn(2, 3, 37, 41)
    logits = disc(x)
    assert logits.shape == (2, 1, _expected(37, n_layers), _expected(41, n_layers))
    assert disc.output_size(37) == _expected(37, n_layers)


def test_patchgan_1d_with_features_and_channel_cap() -> None:
    disc = PatchGANDiscriminator(1, 1, base_channels=4, n_layers=3, max_channels=8, return_features=True, norm="batch")
    logits, feats = disc(torch.randn(3, 1, 101))
    assert logits.shape == (3, 1, _expected(101, 3))
    assert [f.shape[1] for f in feats] == [4, 8, 8, 8]
    assert [f.shape[-1] for f in feats] == [50, 25, 12, 11]
    assert feats[-1].shape[-1] - 1 == logits.shape[-1]


def test_patchgan_norm_options() -> None:
    disc = PatchGANDiscriminator(2, 1, base_channels=4, n_layers=2, conv_norm="spectral", norm="none")
    assert parametrize.is_parametrized(disc.out, "weight")
    assert all(parametrize.is_parametrized(layer.conv, "weight") for layer in disc.layers)
    assert disc.layers[1].conv.bias is not None  # no norm follows, so the conv keeps its bias
    normed = PatchGANDiscriminator(2, 1, base_channels=4, n_layers=2)
    assert normed.layers[1].conv.bias is None
    assert type(normed.layers[0].norm).__name__ == "Identity"  # first layer has no norm
    assert type(normed.layers[1].norm).__name__ == "InstanceNorm2d"
    with pytest.raises(ValueError, match="norm must be one of"):
        PatchGANDiscriminator(2, 1, norm="group")  # type: ignore[arg-type]


def test_patchgan_rejects_too_small_or_wrong_rank_input() -> None:
    disc = PatchGANDiscriminator(2, 1, base_channels=4, n_layers=3)
    with pytest.raises(ValueError, match=r"input size \(16, 40\) is too small for n_layers=3"):
        disc(torch.randn(1, 1, 16, 40))
    with pytest.raises(ValueError, match="expected a 4-D input"):
        disc(torch.randn(1, 1, 40))


def test_one_adam_step_lowers_lsgan_loss() -> None:
    torch.manual_seed(0)
    disc = PatchGANDiscriminator(2, 1, base_channels=8, n_layers=2)
    optim = torch.optim.Adam(disc.parameters(), lr=1e-3)
    real = torch.randn(4, 1, 24, 24) + 1.0
    fake = torch.randn(4, 1, 24, 24) - 1.0
    loss_before = adversarial_d_loss(disc(real), disc(fake), "lsgan")
    optim.zero_grad()
    loss_before.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in disc.parameters())
    optim.step()
    with torch.no_grad():
        loss_after = adversarial_d_loss(disc(real), disc(fake), "lsgan")
    assert loss_after < loss_before - 1e-3
