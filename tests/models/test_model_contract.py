"""The contract every model passes, plus parity against frozen reference outputs.

For each model (at a small size): the output has the documented shape; one Adam step lowers a
loss on a fixed batch; save_artifact -> load_artifact -> a fresh model gives identical outputs;
and the output of the seeded model on a seeded input equals the reference tensors frozen in
``tests/data/model_parity.safetensors`` (so an unintended change to a model's definition or
initialisation is caught). After an intended change, regenerate the references with
``python tests/models/test_model_contract.py --regenerate`` and say why in the commit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from voicegen.checkpoint import load_artifact, save_artifact
from voicegen.models.classifier import ClassifierConfig, DigitClassifier
from voicegen.models.cyclegan import (
    CycleGANGeneratorConfig,
    MelCycleGANGenerator,
    ResnetGenerator,
    ResnetGeneratorConfig,
)
from voicegen.models.gan import GANDiscriminator, GANDiscriminatorConfig, GANGenerator, GANGeneratorConfig
from voicegen.models.vae import SpectrogramVAE, VAEConfig
from voicegen.models.vocoder import (
    DISCRIMINATOR_PRESETS,
    GeneratorConfig,
    HiFiGANGenerator,
    ISTFTGenerator,
    ISTFTGeneratorConfig,
    SourceFilterGenerator,
    SourceFilterGeneratorConfig,
    VocoderDiscriminator,
)
from voicegen.nn import PatchGANDiscriminator

PARITY_FILE = Path(__file__).resolve().parent.parent / "data" / "model_parity.safetensors"
MODEL_SEED, INPUT_SEED, TARGET_SEED = 0, 1, 2
PARITY_ATOL = 1e-5
PARITY_RTOL_SUMS = 1e-4
REFERENCE_VALUES = 64


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]  # of the flattened-and-concatenated output per batch item


def _flat(output) -> torch.Tensor:
    """Any model output (tensor, tuple/list nest) as one (B, N) tensor."""
    if isinstance(output, torch.Tensor):
        return output.reshape(output.shape[0], -1)
    parts = [_flat(item) for item in output]
    return torch.cat(parts, dim=1)


class Conditioned(nn.Module):
    """A class-conditional model called with fixed labels, so the contract can call it with one tensor."""

    def __init__(self, model: nn.Module, labels: list[int], **options: bool) -> None:
        super().__init__()
        self.model = model
        self.options = options
        self.register_buffer("labels", torch.tensor(labels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.labels, **self.options)


class PlausibleF0(nn.Module):
    """A source-filter generator fed a random tensor whose extra rows are mapped into their ranges
    (log-F0 around 150 Hz, 0/1 voicing, phases in [0, 2 pi)), so the contract can call it with one tensor."""

    def __init__(self, model: SourceFilterGenerator) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_mels = self.model.config.n_mels
        lf0 = 5.0 + 0.2 * x[:, n_mels:n_mels + 1]
        vuv = (x[:, n_mels + 1:n_mels + 2] > 0).float()
        phase = torch.remainder(3.0 * x[:, n_mels + 2:n_mels + 3], 2 * torch.pi)
        return self.model(torch.cat([x[:, :n_mels], lf0, vuv, phase], dim=1))


IMAGE_GAN_G = GANGeneratorConfig(image_size=16, latent_dim=8, base_channels=4)
IMAGE_GAN_D = GANDiscriminatorConfig(image_size=16, base_channels=4)

CASES = [
    Case("hifigan_small", lambda: HiFiGANGenerator(GeneratorConfig(
        upsample_initial_channel=32, upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
        resblock_kind=2, resblock_kernel_sizes=(3, 5), resblock_dilations=((1, 2), (2, 6)))),
        (2, 80, 7), (1 * 7 * 256,)),
    Case("istft_small", lambda: ISTFTGenerator(ISTFTGeneratorConfig(
        channels=32, intermediate_channels=64, n_blocks=2)), (2, 80, 7), (7 * 256,)),
    Case("source_filter_small", lambda: PlausibleF0(SourceFilterGenerator(SourceFilterGeneratorConfig(
        channels=32, intermediate_channels=64, n_blocks=2))), (2, 83, 7), (7 * 256,)),
    Case("vocoder_disc_cpu", lambda: VocoderDiscriminator(DISCRIMINATOR_PRESETS["cpu"]), (2, 1, 8192), None),
    Case("mel_cyclegan_small", lambda: MelCycleGANGenerator(CycleGANGeneratorConfig(
        base_channels=8, down_channels=16, bottleneck_channels=16, residual_channels=16, n_residual=2,
        up_channels=(16, 8))), (2, 80, 23), (80 * 23,)),
    Case("vae_small", lambda: SpectrogramVAE(VAEConfig(channels=(8, 16), latent_channels=4)),
         (2, 1, 80, 23), (80 * 23 + 2 * 4 * 6,)),
    Case("resnet_small", lambda: ResnetGenerator(ResnetGeneratorConfig(base_channels=8, n_residual=2)),
         (2, 3, 20, 20), (3 * 20 * 20,)),
    Case("patchgan_2d", lambda: PatchGANDiscriminator(2, 1, 8, n_layers=2), (2, 1, 40, 33), None),
    Case("patchgan_1d", lambda: PatchGANDiscriminator(1, 1, 8, n_layers=2, kernel_size=5), (2, 1, 301), None),
    # image models (voicegen image ...)
    Case("image_vae_small", lambda: SpectrogramVAE(VAEConfig(
        n_mels=16, width=16, channels=(4, 8), latent_channels=3, n_residual=0, latent_layout="global")),
        (2, 1, 16, 16), (16 * 16 + 2 * 3,)),
    Case("dcgan_generator_small", lambda: GANGenerator(IMAGE_GAN_G), (2, 8), (16 * 16,)),
    Case("cgan_generator_small", lambda: Conditioned(GANGenerator(
        GANGeneratorConfig(**{**IMAGE_GAN_G.__dict__, "n_classes": 3, "class_dim": 2})), [0, 2]), (2, 8), (16 * 16,)),
    Case("dcgan_discriminator_small", lambda: GANDiscriminator(IMAGE_GAN_D), (2, 1, 16, 16), (1,)),
    Case("cgan_discriminator_small", lambda: Conditioned(GANDiscriminator(
        GANDiscriminatorConfig(**{**IMAGE_GAN_D.__dict__, "n_classes": 3})), [1, 2]), (2, 1, 16, 16), (1,)),
    Case("acgan_discriminator_small", lambda: Conditioned(GANDiscriminator(GANDiscriminatorConfig(
        **{**IMAGE_GAN_D.__dict__, "n_classes": 3, "auxiliary_classifier": True, "conv_norm": "spectral"})),
        [1, 2], with_classes=True), (2, 1, 16, 16), (1 + 3,)),
    Case("resnet_grey_28", lambda: ResnetGenerator(ResnetGeneratorConfig(
        in_channels=1, out_channels=1, base_channels=4, n_residual=1)), (2, 1, 28, 28), (28 * 28,)),
    Case("digit_classifier_small", lambda: DigitClassifier(ClassifierConfig(
        image_size=16, base_channels=4, feature_dim=8, dropout=0.0)), (2, 1, 16, 16), (10,)),
]


def _seeded(case: Case) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(MODEL_SEED)
    model = case.build()
    x = torch.randn(case.input_shape, generator=torch.Generator().manual_seed(INPUT_SEED))
    return model, x


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_shape_and_one_step_lowers_the_loss(case: Case) -> None:
    model, x = _seeded(case)
    model.train()
    out = _flat(model(x))
    assert out.shape[0] == case.input_shape[0] and torch.isfinite(out).all()
    if case.output_shape is not None:
        assert tuple(out.shape[1:]) == case.output_shape
    target = torch.randn(out.shape, generator=torch.Generator().manual_seed(TARGET_SEED))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = (out - target).square().mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = (_flat(model(x)) - target).square().mean()
    assert after < loss.detach()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_save_load_gives_identical_outputs(case: Case, tmp_path) -> None:
    model, x = _seeded(case)
    model.eval()
    save_artifact(tmp_path / "a", kind="contract-test", weights={"model": model.state_dict()}, config={})
    torch.manual_seed(MODEL_SEED + 100)  # a differently initialised fresh model
    fresh = case.build().eval()
    fresh.load_state_dict(load_artifact(tmp_path / "a").weights["model"])
    with torch.no_grad():
        assert torch.equal(_flat(model(x)), _flat(fresh(x)))


def _fingerprint(out: torch.Tensor) -> dict[str, torch.Tensor]:
    """A small record of a (B, N) output: its first and last values and per-item sums.

    Keeps the reference file a few kB while any change of the output still shows.
    """
    return {"head": out[:, :REFERENCE_VALUES].clone(), "tail": out[:, -REFERENCE_VALUES:].clone(),
            "sums": torch.stack([out.sum(1), out.abs().sum(1), out.square().sum(1)], dim=1).double()}


def _reference_outputs() -> dict[str, torch.Tensor]:
    outputs = {}
    for case in CASES:
        model, x = _seeded(case)
        with torch.no_grad():
            for key, value in _fingerprint(_flat(model.eval()(x))).items():
                outputs[f"{case.name}.{key}"] = value
    return outputs


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_parity_with_frozen_reference(case: Case) -> None:
    assert PARITY_FILE.is_file(), f"{PARITY_FILE} missing; run python {__file__} --regenerate"
    reference = load_file(str(PARITY_FILE))
    assert f"{case.name}.head" in reference, f"no reference for {case.name}; run python {__file__} --regenerate"
    model, x = _seeded(case)
    with torch.no_grad():
        got = _fingerprint(_flat(model.eval()(x)))
    for key in ("head", "tail"):
        torch.testing.assert_close(got[key], reference[f"{case.name}.{key}"], atol=PARITY_ATOL, rtol=0)
    torch.testing.assert_close(got["sums"], reference[f"{case.name}.sums"], atol=PARITY_ATOL,
                               rtol=PARITY_RTOL_SUMS)


if __name__ == "__main__" and "--regenerate" in sys.argv:
    torch.set_num_threads(1)
    PARITY_FILE.parent.mkdir(parents=True, exist_ok=True)
    save_file(_reference_outputs(), str(PARITY_FILE))
    print(f"wrote {PARITY_FILE}")
