"""Image models: the DCGAN / conditional GAN, the image (global-latent) VAE, the digit classifier and
the Fréchet distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voicegen.errors import ConfigError
from voicegen.eval.image_metrics import accuracy, frechet_distance
from voicegen.models.classifier import DigitClassifier, classifier_config
from voicegen.models.gan import build_gan_discriminator, build_gan_generator, gan_generator_config
from voicegen.models.vae import build_vae, vae_config

G16 = {"preset": "mnist", "image_size": 16, "latent_dim": 8, "base_channels": 4}
D16 = {"preset": "mnist", "image_size": 16, "base_channels": 4}


def test_generator_shapes_range_and_label_checks() -> None:
    torch.manual_seed(0)
    g = build_gan_generator({**G16, "n_classes": 3, "class_dim": 2}).eval()
    z = torch.randn(4, 8)
    x = g(z, torch.tensor([0, 1, 2, 0]))
    assert x.shape == (4, 1, 16, 16) and x.abs().max() <= 1.0
    assert not torch.allclose(x[0], g(z[:1], torch.tensor([1]))[0])  # the label changes the image
    with pytest.raises(ValueError, match=r"labels must be 4 class ids in \[0, 3\), got \[0, 1, 2, 3\]"):
        g(z, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="conditioned on 3 classes; pass labels"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        build_gan_generator(G16)(z, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected latents \(B, 8\)"):
        g(torch.randn(4, 7), torch.zeros(4, dtype=torch.long))


def test_discriminator_projection_uses_the_label() -> None:
    torch.manual_seed(0)
    d = build_gan_discriminator({**D16, "n_classes": 3}).eval()
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    a, b = d(images, torch.tensor([0, 0])), d(images, torch.tensor([1, 1]))
    assert a.shape == (2,) and not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"expected images \(B, 1, 16, 16\)"):
        d(torch.zeros(2, 1, 15, 16), torch.tensor([0, 0]))


def test_gan_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match="image_size 30 is not divisible by 2 \\*\\* n_levels = 4"):
        gan_generator_config({"preset": "mnist", "image_size": 30})
    with pytest.raises(ConfigError, match="unknown generator preset 'huge'"):
        gan_generator_config({"preset": "huge"})
    with pytest.raises(ConfigError, match="channels must be 1"):
        gan_generator_config({"channels": 2})


def test_global_latent_vae_encodes_one_vector_per_image() -> None:
    torch.manual_seed(0)
    vae = build_vae({"preset": "image28", "channels": [4, 8], "latent_channels": 3}).eval()
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    out = vae(x)
    assert out.mel_hat.shape == (2, 1, 28, 28) and out.mean.shape == out.logvar.shape == (2, 3)
    assert torch.equal(vae.decode(out.mean), out.mel_hat)
    with pytest.raises(ValueError, match=r"expected a mel image \(B, 1, 28, 28\)"):
        vae(torch.zeros(2, 1, 28, 24))
    with pytest.raises(ValueError, match=r"expected latents \(B, 3\), got shape \(2, 3, 1\)"):
        vae.decode(torch.zeros(2, 3, 1))
    rgb = build_vae({"preset": "image28", "channels": [4], "in_channels": 3, "n_mels": 8, "width": 12})
    assert rgb(torch.zeros(1, 3, 8, 12)).mel_hat.shape == (1, 3, 8, 12)


def test_vae_layout_config_errors() -> None:
    with pytest.raises(ConfigError, match="vae.width 30 is not divisible by the total stride 4"):
        vae_config({"preset": "image28", "width": 30})
    with pytest.raises(ConfigError, match="only latent_layout 'global' has a fixed width"):
        vae_config({"preset": "cpu", "width": 28})


def test_classifier_features_and_accuracy() -> None:
    torch.manual_seed(0)
    model = DigitClassifier(classifier_config({"preset": "mnist", "image_size": 16, "feature_dim": 8})).eval()
    images = torch.rand(3, 1, 16, 16)
    assert model.features(images).shape == (3, 8) and model(images).shape == (3, 10)
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_frechet_distance_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    # exact Gaussian moments by construction: whitened samples, then scaled and shifted
    base = rng.normal(size=(4000, 3))
    base = (base - base.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(base, rowvar=False))).T
    cov_b = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.5]])
    a = base + np.array([1.0, 0.0, -1.0])
    b = base @ np.linalg.cholesky(cov_b).T
    # |mu_a - mu_b|^2 + tr(I) + tr(S_b) - 2 tr(S_b^(1/2))
    eig = np.linalg.eigvalsh(cov_b)
    expected = 2.0 + 3.0 + np.trace(cov_b) - 2.0 * np.sqrt(eig).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="feature sizes differ"):
        frechet_distance(a, b[:, :2])
