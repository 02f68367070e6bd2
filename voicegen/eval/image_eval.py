"""``voicegen image eval``: objective figures of the image models on held-out images.

* VAE: the ELBO (nats per image, Bernoulli decoder, averaged over ``elbo_samples`` posterior draws),
  an importance-weighted bound on ``log p(x)`` with the same draws (Burda et al. 2016), the KL, and
  the reconstruction error of the posterior mean (cross-entropy in nats per image, pixel MSE on
  [0, 1]); on the test images and, for the overfitting gap, on ``seen`` (training) images.
* GAN: ``samples`` images (balanced over the classes for conditional models); the classifier's
  accuracy on them (does it see the requested class?), the Fréchet distance of its features to the
  test images, and the floor of that distance: ``reference`` real images (held out from the model
  and the classifier, as many as ``samples``) vs the test images. All models also report how evenly
  the classifier's predictions spread over the classes.
* CycleGAN: the classifier (of domain ``classifier_domain``) on real and translated held-out images
  of both domains: is the digit kept? And Fréchet distances before and after translation.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from voicegen.errors import ConfigError
from voicegen.eval.image_metrics import accuracy, classify, frechet_distance
from voicegen.fileutil import atomic_write_text
from voicegen.formats.image import (
    ImageCycleGAN,
    ImageGAN,
    ImageVAE,
    LoadedClassifier,
    load_classifier,
    load_image_cyclegan,
    load_image_gan,
    load_image_vae,
)
from voicegen.image.datasets import (
    ImageSet,
    ImageSourceConfig,
    load_source,
    source_description,
)
from voicegen.infer.image import resolve_image_model, translate_images
from voicegen.losses import kl_loss
from voicegen.nn import DiagonalGaussian

EVAL_BATCH = 250
# A latent dimension with less KL than this (nats per image) counts as inactive.
ACTIVE_NATS = 0.01


@dataclass
class ImageEvalConfig:
    """Held-out data for ``voicegen image eval`` (YAML schema).

    test: held-out images (domain A for a CycleGAN); labelled for the GAN and CycleGAN figures.
    reference: other real images never trained on (neither by the model nor by the classifier), as
        many as ``samples``: the Fréchet floor (reference vs test). null: skipped.
    seen: training images: the VAE's figures on images it was trained on (the overfitting gap).
        null: skipped.
    test_b: held-out images of domain B (CycleGAN only).
    classifier: an ``image_classifier`` export (null: the shipped MNIST classifier).
    classifier_domain: the CycleGAN domain the classifier knows (``a`` or ``b``).
    samples: GAN samples scored (split evenly over the classes of a conditional GAN).
    elbo_samples: posterior draws per image for the VAE's ELBO and importance-weighted bound.
    seed: seeds the GAN latents and the VAE's posterior draws.
    """

    test: ImageSourceConfig = field(default_factory=ImageSourceConfig)
    reference: ImageSourceConfig | None = None
    seen: ImageSourceConfig | None = None
    test_b: ImageSourceConfig | None = None
    classifier: str | None = None
    classifier_domain: Literal["a", "b"] = "a"
    samples: int = 1000
    elbo_samples: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples < 2 or self.elbo_samples < 1:
            raise ValueError(f"need samples >= 2 and elbo_samples >= 1, got {self.samples}, {self.elbo_samples}")


def _load(source: ImageSourceConfig, contract: Any, what: str) -> ImageSet:
    images = load_source(source)
    contract.check(images.images, f"{what} ({source_description(source)})")
    return images


def _labels(images: ImageSet, what: str) -> torch.Tensor:
    if images.labels is None:
        raise ConfigError(f"{what} must be labelled for this figure; set its labels_key (or class_folders)")
    return images.labels


def _classifier(config: ImageEvalConfig, contract: Any) -> LoadedClassifier:
    classifier = load_classifier(resolve_image_model(config.classifier, "classifier"))
    if classifier.contract != contract:
        raise ConfigError(f"classifier {classifier.path} works on {classifier.contract.shape} images, the model on "
                          f"{contract.shape}")
    return classifier


@torch.no_grad()
def vae_figures(vae: ImageVAE, images: torch.Tensor, *, elbo_samples: int, seed: int) -> dict[str, float]:
    """ELBO, importance-weighted bound, KL and reconstruction errors (see the module docstring)."""
    model = vae.model.eval()
    generator = torch.Generator().manual_seed(seed)
    sums = {"elbo": 0.0, "log_px_iw": 0.0, "rec_nats": 0.0, "kl": 0.0, "mse": 0.0}
    kl_dims = torch.zeros(model.config.latent_channels, dtype=torch.float64)
    for start in range(0, images.shape[0], EVAL_BATCH):
        x = images[start:start + EVAL_BATCH].float()
        target = (x + 1.0) * 0.5
        posterior = model.encode(x)
        kl = posterior.kl_standard_normal(reduce_dims=(1,))
        prior = DiagonalGaussian(torch.zeros_like(posterior.mean), torch.zeros_like(posterior.logvar))
        log_w, rec = [], []
        for _ in range(elbo_samples):
            z = posterior.sample(generator)
            nll = torch.nn.functional.binary_cross_entropy_with_logits(
                model.decode(z), target, reduction="none").sum(dim=(1, 2, 3))
            rec.append(nll)
            log_w.append(-nll + prior.log_prob(z, reduce_dims=(1,)) - posterior.log_prob(z, reduce_dims=(1,)))
        nll_mean = torch.stack(rec).mean(0)
        iw = torch.logsumexp(torch.stack(log_w), dim=0) - math.log(elbo_samples)
        logits = model.decode(posterior.mean)
        rec_mean = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
        sums["elbo"] += float((-nll_mean - kl).sum())
        sums["log_px_iw"] += float(iw.sum())
        sums["rec_nats"] += float(rec_mean.sum())
        sums["kl"] += float(kl.sum())
        sums["mse"] += float((torch.sigmoid(logits) - target).square().mean(dim=(1, 2, 3)).sum())
        kl_dims += kl_loss(posterior.mean, posterior.logvar)[1].double() * x.shape[0]
    n = images.shape[0]
    figures = {name: value / n for name, value in sums.items()}
    figures["active_dims"] = float(((kl_dims / n) > ACTIVE_NATS).sum())
    return figures


@torch.no_grad()
def gan_figures(gan: ImageGAN, classifier: LoadedClassifier, test: ImageSet, reference: ImageSet | None, *,
                samples: int, seed: int) -> dict[str, float]:
    """Classifier accuracy of (conditional) samples and Fréchet distances; see the module docstring."""
    n_classes = gan.generator.config.n_classes
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(samples) % n_classes if n_classes else None
    fakes = []
    for start in range(0, samples, EVAL_BATCH):
        count = min(EVAL_BATCH, samples - start)
        z = torch.randn(count, gan.generator.config.latent_dim, generator=generator)
        fakes.append(gan.generator(z, None if labels is None else labels[start:start + count]).float())
    fake_logits, fake_features = classify(classifier.model, torch.cat(fakes))
    test_logits, test_features = classify(classifier.model, test.images)
    figures = {"frechet": frechet_distance(fake_features, test_features)}
    if test.labels is not None:
        figures["classifier_accuracy_real_test"] = accuracy(test_logits, test.labels)
    if reference is not None:
        figures["frechet_floor_real_vs_test"] = frechet_distance(classify(classifier.model, reference.images)[1],
                                                                 test_features)
    if labels is not None:
        figures["accuracy"] = accuracy(fake_logits, labels)
    share = torch.bincount(fake_logits.argmax(1), minlength=fake_logits.shape[1]).double() / samples
    figures["predicted_class_entropy"] = float(-(share * share.clamp_min(1e-12).log()).sum())
    figures["predicted_class_entropy_max"] = math.log(fake_logits.shape[1])
    figures["rarest_class_share"] = float(share.min())
    return figures


@torch.no_grad()
def cyclegan_figures(cyclegan: ImageCycleGAN, classifier: LoadedClassifier, test_a: ImageSet, test_b: ImageSet,
                     domain: str) -> dict[str, float]:
    """Classifier accuracy on real and translated images of both domains, and Fréchet distances."""
    a, b = cyclegan.domains
    known, other = (test_a, test_b) if domain == "a" else (test_b, test_a)
    known_name, other_name = (a, b) if domain == "a" else (b, a)
    into_known, out_of_known = ("b2a", "a2b") if domain == "a" else ("a2b", "b2a")

    def scores(images: torch.Tensor) -> tuple[float, torch.Tensor]:
        logits, features = classify(classifier.model, images)
        return logits, features

    known_logits, known_features = scores(known.images)
    other_logits, other_features = scores(other.images)
    translated = translate_images(cyclegan, other.images, into_known)
    translated_logits, translated_features = scores(translated)
    away = translate_images(cyclegan, known.images, out_of_known)
    cycled_logits, _ = scores(translate_images(cyclegan, away, into_known))
    known_labels, other_labels = _labels(known, f"test of {known_name}"), _labels(other, f"test of {other_name}")
    return {
        f"accuracy_real_{known_name}": accuracy(known_logits, known_labels),
        f"accuracy_real_{other_name}_untranslated": accuracy(other_logits, other_labels),
        f"accuracy_{other_name}_to_{known_name}": accuracy(translated_logits, other_labels),
        f"accuracy_{known_name}_to_{other_name}": accuracy(scores(away)[0], known_labels),
        f"accuracy_{known_name}_to_{other_name}_to_{known_name}": accuracy(cycled_logits, known_labels),
        f"frechet_{other_name}_untranslated_vs_{known_name}": frechet_distance(other_features, known_features),
        f"frechet_{other_name}_to_{known_name}_vs_{known_name}": frechet_distance(translated_features,
                                                                                   known_features),
    }


def evaluate_image_model(kind: str, model: str | os.PathLike | None, config: ImageEvalConfig) -> dict[str, Any]:
    """The report of ``voicegen image eval KIND``: ``{"kind", "model", "data", "figures"}``."""
    data = {"test": source_description(config.test)}
    if kind == "vae":
        vae = load_image_vae(resolve_image_model(model, "vae"))
        test = _load(config.test, vae.contract, "test")
        figures = {f"test_{k}": v for k, v in vae_figures(vae, test.images, elbo_samples=config.elbo_samples,
                                                            seed=config.seed).items()}
        if config.seen is not None:
            data["seen"] = source_description(config.seen)
            seen = _load(config.seen, vae.contract, "seen").images
            figures.update({f"seen_{k}": v for k, v in vae_figures(vae, seen, elbo_samples=config.elbo_samples,
                                                                    seed=config.seed).items()})
        path = vae.path
    elif kind == "gan":
        gan = load_image_gan(resolve_image_model(model, "gan"))
        classifier = _classifier(config, gan.contract)
        test = _load(config.test, gan.contract, "test")
        reference = _load(config.reference, gan.contract, "reference") if config.reference is not None else None
        if reference is not None:
            data["reference"] = source_description(config.reference)
        figures = gan_figures(gan, classifier, test, reference, samples=config.samples, seed=config.seed)
        data["classifier"] = str(classifier.path)
        path = gan.path
    elif kind == "cyclegan":
        cyclegan = load_image_cyclegan(resolve_image_model(model, "cyclegan"))
        if config.test_b is None:
            raise ConfigError("test_b is not set; a CycleGAN is scored on held-out images of both domains")
        classifier = _classifier(config, cyclegan.contract)
        test_a = _load(config.test, cyclegan.contract, "test")
        test_b = _load(config.test_b, cyclegan.contract, "test_b")
        data.update(test_b=source_description(config.test_b), classifier=str(classifier.path))
        figures = cyclegan_figures(cyclegan, classifier, test_a, test_b, config.classifier_domain)
        path = cyclegan.path
    else:
        raise ConfigError(f"kind must be vae, gan or cyclegan, got {kind!r}")
    return {"kind": kind, "model": str(path), "data": data, "figures": figures}


def format_report(report: dict[str, Any]) -> str:
    """The figures of a report as aligned ``name  value`` lines, under a header naming model and data."""
    lines = [f"{report['kind']} {report['model']} on {', '.join(f'{k}={v}' for k, v in report['data'].items())}"]
    width = max(len(name) for name in report["figures"])
    lines += [f"  {name:<{width}}  {value:.4g}" for name, value in report["figures"].items()]
    return "\n".join(lines)


def save_report(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``report`` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(report, indent=2, allow_nan=False) + "\n")
