"""Image training steps: the GAN task, the image VAE's ELBO, and the CycleGAN step and PatchGAN shared
with voice conversion."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import voicegen.models.cyclegan as cyclegan_models
import voicegen.train.cyclegan as voice_cyclegan
import voicegen.train.image.cyclegan as image_cyclegan
from voicegen.config import from_dict
from voicegen.errors import ConfigError
from voicegen.models.cyclegan import ResnetGenerator
from voicegen.models.gan import build_gan_discriminator, build_gan_generator
from voicegen.models.vae import build_vae
from voicegen.nn import PatchGANDiscriminator
from voicegen.train.cyclegan_task import CycleGANTask
from voicegen.train.image.cyclegan import ImageCycleGANTask, ImageCycleGANTrainConfig, build_image_cyclegan
from voicegen.train.image.gan import GANTask
from voicegen.train.image.vae import ImageVAETask

G16 = {"preset": "mnist", "image_size": 16, "latent_dim": 8, "base_channels": 4, "n_classes": 4, "class_dim": 2}
D16 = {"preset": "mnist", "image_size": 16, "base_channels": 4, "n_classes": 4}


def image_batch(n: int = 4, labelled: bool = True) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    batch = {"image": torch.rand(n, 1, 16, 16, generator=g) * 2 - 1}
    if labelled:
        batch["label"] = torch.arange(n) % 4
    return batch


def test_image_cyclegan_trains_with_the_voice_step_and_patchgan() -> None:
    # The same step: the image task inherits every loss computation from the voice task unchanged.
    assert issubclass(ImageCycleGANTask, CycleGANTask)
    for name in ("losses", "_generator_losses", "_discriminator_losses", "modules", "optimizer_groups"):
        assert getattr(ImageCycleGANTask, name) is getattr(CycleGANTask, name), name
    # The same discriminator builder as the mel CycleGAN, hence the same PatchGAN class.
    builder = cyclegan_models.build_discriminator
    assert image_cyclegan.build_discriminator is builder and voice_cyclegan.build_discriminator is builder
    config = from_dict(ImageCycleGANTrainConfig, {
        "generator": {"preset": "cpu", "base_channels": 4, "n_residual": 1},
        "discriminator": {"preset": "cpu", "base_channels": 4, "max_channels": 8, "n_layers": 2},
        "identity_steps": 1, "trainer": {"max_steps": 1, "batch_size": 2}})
    models = build_image_cyclegan(config)
    assert isinstance(models["G_ab"], ResnetGenerator) and type(models["D_a"]) is PatchGANDiscriminator
    assert models["D_a"].dims == 2 and set(models) == {"G_ab", "G_ba", "D_a", "D_b"}
    task = ImageCycleGANTask(*(models[n] for n in ("G_ab", "G_ba", "D_a", "D_b")), identity_steps=1)
    batch = {"a": torch.rand(2, 1, 28, 28) * 2 - 1, "b": torch.rand(2, 1, 28, 28) * 2 - 1}
    assert sorted(task.losses("gen", batch, 1)) == ["adv_g", "cycle", "identity"]
    assert sorted(task.losses("disc", batch, 1)) == ["adv_d"]
    assert config.trainer.loss_weights == {"adv_g": 1.0, "cycle": 10.0, "identity": 5.0, "adv_d": 1.0}


def test_gan_task_phases_update_only_their_network() -> None:
    torch.manual_seed(0)
    task = GANTask(build_gan_generator(G16), build_gan_discriminator(D16), adversarial="hinge")
    assert task.optimizer_groups() == {"disc": ["discriminator"], "gen": ["generator"]}
    batch = image_batch()
    disc = task.losses("disc", batch, 1)["adv_d"]
    disc.backward()
    assert all(p.grad is None for p in task.generator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in task.discriminator.parameters())
    task.discriminator.zero_grad(set_to_none=True)
    gen = task.losses("gen", batch, 1)["adv_g"]
    gen.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in task.generator.parameters())
    assert disc.dim() == gen.dim() == 0 and disc > 0  # hinge: relu(1 - r) + relu(1 + f) > 0 near init
    with pytest.raises(ValueError, match="needs labelled images"):
        task.losses("gen", image_batch(labelled=False), 1)
    with pytest.raises(ValueError, match="phases 'disc' and 'gen'"):
        task.losses("vae", batch, 1)


def test_auxiliary_classifier_adds_class_losses_on_real_images_and_samples() -> None:
    torch.manual_seed(0)
    task = GANTask(build_gan_generator(G16), build_gan_discriminator({**D16, "auxiliary_classifier": True}))
    assert task.loss_names() == {"disc": ["adv_d", "cls_d"], "gen": ["adv_g", "cls_g"]}
    batch = image_batch()
    disc, gen = task.losses("disc", batch, 1), task.losses("gen", batch, 1)
    _, classes = task.discriminator(batch["image"], batch["label"], with_classes=True)
    torch.testing.assert_close(disc["cls_d"], F.cross_entropy(classes, batch["label"]))
    assert sorted(gen) == ["adv_g", "cls_g"] and gen["cls_g"].requires_grad
    with pytest.raises(ConfigError, match="auxiliary_classifier needs n_classes > 0"):
        build_gan_discriminator({**D16, "n_classes": 0, "auxiliary_classifier": True})


def test_image_vae_losses_sum_to_the_negative_elbo_per_pixel() -> None:
    torch.manual_seed(0)
    model = build_vae({"preset": "image28", "n_mels": 16, "width": 16, "channels": [4, 8], "latent_channels": 3})
    task = ImageVAETask(model)
    model.eval()  # posterior mean instead of a draw: deterministic
    batch = image_batch(labelled=False)
    losses = task.losses("vae", batch, 1)
    out = model(batch["image"], sample=False)
    target = (batch["image"] + 1) / 2
    nll = F.binary_cross_entropy_with_logits(out.mel_hat, target, reduction="sum") / 4
    kl = 0.5 * (out.mean.square() + out.logvar.exp() - 1 - out.logvar).sum() / 4
    pixels = 16 * 16
    torch.testing.assert_close((losses["rec"] + losses["kl"]) * pixels, nll + kl)
    torch.testing.assert_close(losses["kl_nats"], kl)


def test_validation_grids_show_distinct_samples_or_a_row_per_class(monkeypatch) -> None:
    import voicegen.train.image.gan as image_gan

    grids = []
    monkeypatch.setattr(image_gan, "log_grid", lambda logger, tag, images, step, **kw: grids.append(images))
    torch.manual_seed(0)
    plain = GANTask(build_gan_generator({**G16, "n_classes": 0}), build_gan_discriminator({**D16, "n_classes": 0}))
    conditional = GANTask(build_gan_generator(G16), build_gan_discriminator(D16))
    for task, batch in ((plain, image_batch(labelled=False)), (conditional, image_batch())):
        for module in task.modules().values():
            module.eval()
        with torch.no_grad():
            metrics = task.validate(batch, 1, None)
        assert set(metrics) == {"d_real", "d_fake"}
    samples, rows = grids
    assert samples.shape == (64, 1, 16, 16) and len({tuple(s.flatten()[:20].tolist()) for s in samples}) == 64
    assert rows.shape == (4 * 8, 1, 16, 16) and not torch.allclose(rows[0], rows[8])  # class 0 vs class 1
