"""CycleGAN models: mel generator shapes and masking, presets, PatchGAN discriminator, image ResNet generator."""

from __future__ import annotations

import pytest
import torch

from voicegen.errors import ConfigError
from voicegen.models.cyclegan import (
    DISCRIMINATOR_PRESETS,
    GENERATOR_PRESETS,
    CycleGANGeneratorConfig,
    MelCycleGANGenerator,
    build_discriminator,
    build_generator,
    build_resnet_generator,
    generator_config,
)

TINY_G = {"base_channels": 8, "down_channels": 8, "bottleneck_channels": 16, "residual_channels": 16,
          "n_residual": 2, "up_channels": [8, 8]}
TINY_D = {"base_channels": 8, "max_channels": 16, "n_layers": 2}


def tiny_generator(seed: int = 0) -> MelCycleGANGenerator:
    torch.manual_seed(seed)
    return build_generator(TINY_G).eval()


@pytest.mark.parametrize("frames", [61, 64, 101, 3])
def test_generator_keeps_the_shape_for_any_frame_count(frames: int) -> None:
    generator = tiny_generator()
    mel = torch.randn(2, 80, frames)
    out = generator(mel)
    assert out.shape == (2, 80, frames)
    assert torch.isfinite(out).all()


def test_padding_does_not_leak_between_batch_items() -> None:
    generator = tiny_generator()
    mel = torch.randn(2, 80, 61)
    together = generator(mel)
    alone = generator(mel[1:])
    torch.testing.assert_close(together[1:], alone, rtol=1e-4, atol=1e-5)


def test_masked_frames_are_ignored_and_inference_mask_is_all_ones() -> None:
    generator = tiny_generator()
    mel = torch.randn(1, 80, 64, generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(mel)
    mask[..., 20:35] = 0.0
    out = generator(mel, mask)
    # The generator zeroes masked bins itself: changing them cannot change the output ...
    changed_inside = mel.clone()
    changed_inside[..., 20:35] += 5.0
    torch.testing.assert_close(generator(changed_inside, mask), out)
    # ... while the same change with an all-ones mask does.
    assert (generator(changed_inside) - generator(mel)).abs().max() > 1e-2
    # The mask is an input too (not only a multiplier): zeroed bins with an all-ones mask differ.
    assert (generator(mel * mask) - out).abs().max() > 1e-3
    # No mask means all ones; a (B, 1, F) mask broadcasts over the bands.
    torch.testing.assert_close(generator(mel), generator(mel, torch.ones_like(mel)))
    torch.testing.assert_close(generator(mel, mask[:, :1]), out)


def test_generator_input_errors() -> None:
    generator = tiny_generator()
    with pytest.raises(ValueError, match=r"expected a mel \(B, 80, frames\), got shape \(1, 64, 10\)"):
        generator(torch.zeros(1, 64, 10))
    with pytest.raises(ValueError, match=r"mask of shape \(1, 80, 9\) does not broadcast"):
        generator(torch.zeros(1, 80, 10), torch.ones(1, 80, 9))


def test_config_validation_and_presets() -> None:
    with pytest.raises(ConfigError, match=r"generator.n_mels must be divisible by 4 .* got 81; use e.g. 80"):
        generator_config({"n_mels": 81})
    with pytest.raises(ValueError, match=r"generator.in_kernel must be two odd positive integers"):
        CycleGANGeneratorConfig(in_kernel=(4, 15))
    with pytest.raises(ConfigError, match=r"unknown generator preset 'huge'; choose one of: paper, cpu"):
        generator_config({"preset": "huge"})
    with pytest.raises(ConfigError, match=r"unknown key 'n_residuals' \(did you mean 'n_residual'\?\)"):
        generator_config({"preset": "cpu", "n_residuals": 3})
    # YAML lists become tuples; preset fields can be overridden.
    config = generator_config({"preset": "cpu", "n_residual": 2, "in_kernel": [3, 9]})
    assert config.n_residual == 2 and config.in_kernel == (3, 9)
    assert config.base_channels == GENERATOR_PRESETS["cpu"].base_channels
    paper = GENERATOR_PRESETS["paper"]
    assert (paper.base_channels, paper.down_channels, paper.bottleneck_channels, paper.residual_channels,
            paper.n_residual) == (128, 256, 256, 512, 6)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_cpu_presets_are_much_smaller_than_paper() -> None:
    assert _count(build_generator({"preset": "cpu"})) * 4 < _count(build_generator({"preset": "paper"}))
    assert _count(build_discriminator({"preset": "cpu"})) * 8 < _count(build_discriminator({"preset": "paper"}))
    assert DISCRIMINATOR_PRESETS["paper"].base_channels == 128


def test_discriminator_scores_patches_of_a_mel() -> None:
    torch.manual_seed(0)
    discriminator = build_discriminator(TINY_D)
    logits = discriminator(torch.randn(3, 1, 80, 64))
    # kernel 4, 2 stride-2 layers: 80 -> 40 -> 20, then two stride-1 convs: 19 -> 18 (64: 32, 16, 15, 14).
    assert logits.shape == (3, 1, 18, 14)
    assert logits.shape[2:] == (discriminator.output_size(80), discriminator.output_size(64))
    with pytest.raises(ValueError, match="too small"):
        discriminator(torch.randn(1, 1, 80, 4))


@pytest.mark.parametrize("size", [(32, 32), (30, 37)])
def test_resnet_generator_maps_images_to_images_in_tanh_range(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    generator = build_resnet_generator({"base_channels": 8, "n_residual": 2})
    images = torch.rand(2, 3, *size) * 2 - 1
    out = generator(images)
    assert out.shape == (2, 3, *size)
    assert out.abs().max() <= 1.0
    assert generator.takes_mask is False
    with pytest.raises(ValueError, match=r"expected images \(B, 3, H, W\)"):
        generator(torch.zeros(1, 1, 8, 8))
