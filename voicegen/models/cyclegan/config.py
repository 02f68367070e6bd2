"""Typed configurations of the CycleGAN generators and discriminators, with named presets.

* :class:`CycleGANGeneratorConfig` — the mel 2-1-2D generator of CycleGAN-VC2 / MaskCycleGAN-VC
  (Kaneko et al. 2019, 2021). ``"paper"`` holds MaskCycleGAN-VC's widths; ``"cpu"`` is the
  smaller model ``benchmarks/cyclegan_step.py`` measured to train >= 5x cheaper per step.
* :class:`ResnetGeneratorConfig` — the image CycleGAN ResNet generator (Zhu et al. 2017).
* :class:`CycleGANDiscriminatorConfig` — a 2-D PatchGAN on mels ``(B, 1, n_mels, frames)`` or
  images ``(B, C, H, W)``.

Every config is a frozen dataclass that validates itself (``ValueError`` naming the field); a plain
dict (a YAML section or an artifact's JSON, optionally ``{"preset": "cpu", ...}``) becomes one with
``generator_config`` / ``discriminator_config``, strictly (unknown keys are ConfigErrors).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from voicegen.config import from_preset

# The generator halves the mel axis and the frame axis twice (two stride-2 downsamplings).
MEL_GENERATOR_STRIDE = 4
# Key naming a preset to start from; the other keys of the dict override its fields.

C = TypeVar("C")


def _positive(owner: str, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner}.{name} must be a positive integer, got {value!r}")


def _kernel(owner: str, name: str, value: tuple[int, int]) -> None:
    if len(value) != 2 or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0 for k in value):
        raise ValueError(f"{owner}.{name} must be two odd positive integers (mel bands, frames), got {value!r}")


@dataclass(frozen=True)
class CycleGANGeneratorConfig:
    """The mel 2-1-2D generator (see ``generator.py`` for the data flow).

    Args:
        n_mels: mel bands of the input/output; divisible by 4.
        base_channels: channels after the input conv (GLU).
        down_channels: channels after each of the two 2-D downsampling blocks (GLU).
        bottleneck_channels: width of the 1-D residual stream (after the 2-D -> 1-D 1x1 conv).
        residual_channels: inner (gated) width of each 1-D residual block.
        n_residual: number of 1-D gated residual blocks.
        up_channels: channels after each of the two upsampling blocks (after their GLU; the conv
            before the pixel shuffle has ``2 * 4 * up_channels[i]`` outputs).
        in_kernel, out_kernel: (mel, frame) kernels of the first and last 2-D convs.
        down_kernel, up_kernel: square kernels of the 2-D down/upsampling convs.
        residual_kernel: kernel of the 1-D residual convs (frames).
    """

    n_mels: int = 80
    base_channels: int = 128
    down_channels: int = 256
    bottleneck_channels: int = 256
    residual_channels: int = 512
    n_residual: int = 6
    up_channels: tuple[int, int] = (128, 64)
    in_kernel: tuple[int, int] = (5, 15)
    down_kernel: int = 5
    residual_kernel: int = 3
    up_kernel: int = 5
    out_kernel: tuple[int, int] = (5, 15)

    def __post_init__(self) -> None:
        owner = "generator"
        object.__setattr__(self, "in_kernel", tuple(self.in_kernel))
        object.__setattr__(self, "out_kernel", tuple(self.out_kernel))
        object.__setattr__(self, "up_channels", tuple(self.up_channels))
        _positive(owner, n_mels=self.n_mels, base_channels=self.base_channels, down_channels=self.down_channels,
                  bottleneck_channels=self.bottleneck_channels, residual_channels=self.residual_channels,
                  n_residual=self.n_residual)
        if self.n_mels % MEL_GENERATOR_STRIDE:
            raise ValueError(f"{owner}.n_mels must be divisible by {MEL_GENERATOR_STRIDE} (two 2x downsamplings of "
                             f"the mel axis), got {self.n_mels}; use e.g. 80")
        if len(self.up_channels) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                              for v in self.up_channels):
            raise ValueError(f"{owner}.up_channels must be two positive integers, got {self.up_channels!r}")
        _kernel(owner, "in_kernel", self.in_kernel)
        _kernel(owner, "out_kernel", self.out_kernel)
        for name in ("down_kernel", "residual_kernel", "up_kernel"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
                raise ValueError(f"{owner}.{name} must be an odd positive integer, got {value!r}")


@dataclass(frozen=True)
class ResnetGeneratorConfig:
    """The image CycleGAN ResNet generator: c7s1-base, ``n_downsample`` x d, ``n_residual`` x R, up, c7s1 + tanh.

    Args:
        in_channels, out_channels: image channels (3 for RGB).
        base_channels: channels of the first conv; doubled by each downsampling.
        n_downsample: stride-2 downsamplings (and as many upsamplings).
        n_residual: residual blocks at the lowest resolution (9 for 256 px, 6 for 128 px).
        norm: "instance" (CycleGAN) or "batch".
    """

    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 64
    n_downsample: int = 2
    n_residual: int = 9
    norm: Literal["instance", "batch"] = "instance"

    def __post_init__(self) -> None:
        _positive("generator", in_channels=self.in_channels, out_channels=self.out_channels,
                  base_channels=self.base_channels, n_residual=self.n_residual)
        if isinstance(self.n_downsample, bool) or not isinstance(self.n_downsample, int) or self.n_downsample < 0:
            raise ValueError(f"generator.n_downsample must be an integer >= 0, got {self.n_downsample!r}")
        if self.norm not in ("instance", "batch"):
            raise ValueError(f"generator.norm must be 'instance' or 'batch', got {self.norm!r}")


@dataclass(frozen=True)
class CycleGANDiscriminatorConfig:
    """A 2-D PatchGAN (``voicegen.nn.PatchGANDiscriminator``) on ``(B, in_channels, H, W)``.

    Args:
        in_channels: 1 for mels ``(B, 1, n_mels, frames)``, 3 for RGB images.
        base_channels: channels of the first stride-2 conv, doubled per layer up to ``max_channels``.
        n_layers: stride-2 convs (then one stride-1 conv and the 1-channel logit conv).
        kernel_size: square kernel of every conv.
        norm: norm of the hidden layers after the first.
        conv_norm: "spectral" wraps every conv in spectral norm.
    """

    in_channels: int = 1
    base_channels: int = 128
    n_layers: int = 3
    max_channels: int = 1024
    kernel_size: int = 4
    norm: Literal["instance", "batch", "none"] = "instance"
    conv_norm: Literal["none", "spectral"] = "none"

    def __post_init__(self) -> None:
        _positive("discriminator", in_channels=self.in_channels, base_channels=self.base_channels,
                  n_layers=self.n_layers, max_channels=self.max_channels)
        if isinstance(self.kernel_size, bool) or not isinstance(self.kernel_size, int) or self.kernel_size < 2:
            raise ValueError(f"discriminator.kernel_size must be an integer >= 2, got {self.kernel_size!r}")
        if self.norm not in ("instance", "batch", "none"):
            raise ValueError(f"discriminator.norm must be instance, batch or none, got {self.norm!r}")
        if self.conv_norm not in ("none", "spectral"):
            raise ValueError(f"discriminator.conv_norm must be none or spectral, got {self.conv_norm!r}")


GENERATOR_PRESETS: Mapping[str, CycleGANGeneratorConfig] = types.MappingProxyType({
    # MaskCycleGAN-VC (Kaneko et al. 2021, after CycleGAN-VC2): 128 -> 256 -> 256 (2-D), a 256-wide
    # 1-D stream with six 512-wide gated residual blocks, then 1024- and 512-channel convs with
    # pixel shuffle and GLU back up (128 -> 64 channels).
    "paper": CycleGANGeneratorConfig(),
    # CPU training: a quarter of the 2-D widths, half the 1-D widths, the same six residual
    # blocks. Chosen with benchmarks/cyclegan_step.py on 2 threads (batch 1 x 64 frames): paper
    # 5.1 s/step, this 0.44 s/step (11.5x cheaper; generator RTF 0.011 vs 0.119 on 10 s). Half
    # the paper's widths (64/128/256/512, up 64/32) measured 1.13 s/step with the cpu
    # discriminators, under the 5x goal.
    "cpu": CycleGANGeneratorConfig(base_channels=32, down_channels=64, bottleneck_channels=128,
                                   residual_channels=256, n_residual=6, up_channels=(32, 16)),
})

RESNET_GENERATOR_PRESETS: Mapping[str, ResnetGeneratorConfig] = types.MappingProxyType({
    "paper": ResnetGeneratorConfig(),  # 256 px images: 9 residual blocks
    "resnet_6blocks": ResnetGeneratorConfig(n_residual=6),  # 128 px images
    "cpu": ResnetGeneratorConfig(base_channels=32, n_residual=6),
})

DISCRIMINATOR_PRESETS: Mapping[str, CycleGANDiscriminatorConfig] = types.MappingProxyType({
    # MaskCycleGAN-VC-like: 128 -> 256 -> 512 stride-2, 1024 stride-1, then one logit per patch.
    "paper": CycleGANDiscriminatorConfig(),
    # CPU training: a quarter of the widths (~1/16 of the paper's multiply-adds).
    "cpu": CycleGANDiscriminatorConfig(base_channels=32, max_channels=256),
    # Image CycleGAN's 70x70 PatchGAN on RGB.
    "image": CycleGANDiscriminatorConfig(in_channels=3, base_channels=64, max_channels=512),
})


def generator_config(config: Mapping[str, Any] | CycleGANGeneratorConfig, *,
                     source: str = "generator") -> CycleGANGeneratorConfig:
    """The typed mel-generator config of a plain dict (``{"preset": "cpu", "n_residual": 4}`` allowed)."""
    return from_preset(CycleGANGeneratorConfig, config, GENERATOR_PRESETS, "generator", source=source)


def resnet_generator_config(config: Mapping[str, Any] | ResnetGeneratorConfig, *,
                            source: str = "generator") -> ResnetGeneratorConfig:
    """The typed image ResNet generator config of a plain dict (presets allowed)."""
    return from_preset(ResnetGeneratorConfig, config, RESNET_GENERATOR_PRESETS, "generator", source=source)


def discriminator_config(config: Mapping[str, Any] | CycleGANDiscriminatorConfig, *,
                         source: str = "discriminator") -> CycleGANDiscriminatorConfig:
    """The typed discriminator config of a plain dict (``{"preset": "cpu"}`` allowed)."""
    return from_preset(CycleGANDiscriminatorConfig, config, DISCRIMINATOR_PRESETS, "discriminator", source=source)
