"""voicegen.losses against hand-computed values, plus the import rule of voicegen.nn / voicegen.losses."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from voicegen.losses import (
    MultiResolutionSTFTLoss,
    adversarial_d_loss,
    adversarial_d_losses,
    adversarial_g_loss,
    adversarial_g_losses,
    capacity_kl,
    feature_matching_loss,
    kl_loss,
    l1_loss,
    l2_loss,
    linear_capacity,
    mel_l1_loss,
)

PACKAGE = Path(__file__).resolve().parents[2] / "voicegen"
ALLOWED_ROOTS = {"__future__", "torch", "numpy", "math", "typing", "dataclasses"}

REAL = torch.tensor([0.5, 2.0])
FAKE = torch.tensor([-1.0, 0.5])


def test_lsgan_losses() -> None:
    assert adversarial_d_loss(torch.ones(3, 1, 4), torch.zeros(3, 1, 4), "lsgan").item() == 0.0
    # D: mean((1-r)^2) = (0.25 + 1) / 2; mean(f^2) = (1 + 0.25) / 2
    assert adversarial_d_loss(REAL, FAKE, "lsgan").item() == pytest.approx(0.625 + 0.625)
    # G: mean((1-f)^2) = (4 + 0.25) / 2
    assert adversarial_g_loss(FAKE, "lsgan").item() == pytest.approx(2.125)


def test_hinge_losses() -> None:
    # D: mean(relu(1 - r)) = (0.5 + 0) / 2; mean(relu(1 + f)) = (0 + 1.5) / 2
    assert adversarial_d_loss(REAL, FAKE, "hinge").item() == pytest.approx(0.25 + 0.75)
    assert adversarial_g_loss(FAKE, "hinge").item() == pytest.approx(0.25)


def test_bce_losses_match_torch() -> None:
    expected_d = F.binary_cross_entropy_with_logits(REAL, torch.ones(2)) + F.binary_cross_entropy_with_logits(
        FAKE, torch.zeros(2)
    )
    torch.testing.assert_close(adversarial_d_loss(REAL, FAKE, "bce"), expected_d)
    by_hand = -torch.log(torch.sigmoid(FAKE)).mean()
    torch.testing.assert_close(adversarial_g_loss(FAKE, "bce"), by_hand)


def test_multi_discriminator_sum_and_per_discriminator_values() -> None:
    reals = [torch.ones(2, 1, 5), REAL]
    fakes = [torch.zeros(2, 1, 3), FAKE]  # shapes may differ per discriminator
    per = adversarial_d_losses(reals, fakes, "lsgan")
    assert [round(v.item(), 6) for v in per] == [0.0, 1.25]
    assert adversarial_d_loss(reals, fakes, "lsgan").item() == pytest.approx(1.25)
    g_per = adversarial_g_losses([torch.ones(4), FAKE], "lsgan")
    assert [round(v.item(), 6) for v in g_per] == [0.0, 2.125]
    with pytest.raises(ValueError, match="2 real outputs but 1 fake outputs"):
        adversarial_d_loss(reals, fakes[:1])
    with pytest.raises(ValueError, match="kind must be one of"):
        adversarial_g_loss(FAKE, "wgan")  # type: ignore[arg-type]


def test_feature_matching_values_and_detach() -> None:
    real = [[torch.ones(2, 3), torch.zeros(4)], [torch.full((5,), 2.0)]]
    assert feature_matching_loss(real, real).item() == 0.0
    fake = [[torch.zeros(2, 3, requires_grad=True), torch.full((4,), 0.5)], [torch.full((5,), -1.0)]]
    # layer means: |1 - 0| = 1, |0 - 0.5| = 0.5, |2 - (-1)| = 3 -> summed 4.5
    assert feature_matching_loss(real, fake).item() == pytest.approx(4.5)
    real_leaf = torch.ones(3, requires_grad=True)
    fake_leaf = torch.zeros(3, requires_grad=True)
    feature_matching_loss([real_leaf], [fake_leaf]).backward()  # flat list = one discriminator
    assert real_leaf.grad is None
    torch.testing.assert_close(fake_leaf.grad, torch.full((3,), -1.0 / 3))
    with pytest.raises(ValueError, match="discriminator 0 has 2 real vs 1 fake layers"):
        feature_matching_loss(real[:1], [fake[0][:1]])


def test_l1_l2_with_and_without_mask() -> None:
    x_hat = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    x = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert l1_loss(x_hat, x).item() == pytest.approx((0 + 2 + 3 + 3) / 6)
    assert l2_loss(x_hat, x).item() == pytest.approx((0 + 4 + 9 + 3) / 6)
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert l1_loss(x_hat, x, mask).item() == pytest.approx((0 + 2 + 1) / 3)
    row_mask = torch.tensor([[1.0], [0.0]])  # broadcast over the last axis
    assert l2_loss(x_hat, x, row_mask).item() == pytest.approx((0 + 4 + 9) / 3)
    assert l1_loss(x_hat, x, torch.zeros(2, 3)).item() == 0.0
    with pytest.raises(ValueError, match=r"prediction shape \(2, 3\) differs from target shape \(3, 2\)"):
        l1_loss(x_hat, x.T)
    with pytest.raises(ValueError, match="does not broadcast"):
        l1_loss(x_hat, x, torch.ones(4))


def test_kl_loss_zero_for_standard_normal_and_matches_closed_form() -> None:
    total, per_dim = kl_loss(torch.zeros(4, 3, 2, 2), torch.zeros(4, 3, 2, 2))
    assert total.item() == 0.0 and per_dim.shape == (3,)
    torch.manual_seed(0)
    mean, logvar = torch.randn(5, 3, 2, 4), torch.randn(5, 3, 2, 4)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    reference = torch.distributions.kl_divergence(q, p)
    total, per_dim = kl_loss(mean, logvar)
    torch.testing.assert_close(per_dim, reference.sum(dim=(2, 3)).mean(0))
    torch.testing.assert_close(total, reference.sum(dim=(1, 2, 3)).mean())
    # A (B, D) latent: one KL per dimension; KL(N(1, 1) || N(0, 1)) = 0.5 nat.
    total_2d, per_dim_2d = kl_loss(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
    torch.testing.assert_close(per_dim_2d, torch.tensor([0.5, 0.0]))
    assert total_2d.item() == pytest.approx(0.5)


def test_capacity_kl_and_linear_capacity() -> None:
    assert capacity_kl(torch.tensor(3.0), capacity=5.0, gamma=10.0).item() == pytest.approx(20.0)
    assert capacity_kl(torch.tensor(7.5), capacity=5.0, gamma=2.0).item() == pytest.approx(5.0)
    assert [linear_capacity(s, 25.0, 100) for s in (0, 50, 100, 500)] == [0.0, 12.5, 25.0, 25.0]
    with pytest.raises(ValueError, match="must be >= 0"):
        capacity_kl(torch.tensor(1.0), capacity=-1.0, gamma=1.0)


def test_mel_l1_loss_uses_the_given_transform() -> None:
    def mel_fn(wav: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, 4, T / 4), a stand-in "mel"
        assert wav.dim() == 2
        return wav.reshape(wav.shape[0], 4, -1).abs()

    wav = torch.tensor([[1.0, -2.0, 3.0, 0.0, 1.0, 1.0, 1.0, 1.0]])
    wav_hat = torch.zeros(1, 1, 8, requires_grad=True)
    loss = mel_l1_loss(wav_hat, wav, mel_fn)
    assert loss.item() == pytest.approx(10.0 / 8)
    loss.backward()
    assert wav_hat.grad is not None
    with pytest.raises(ValueError, match="trim both to the same length"):
        mel_l1_loss(torch.zeros(1, 9), torch.zeros(1, 8), mel_fn)


def test_multi_resolution_stft_loss_values() -> None:
    torch.manual_seed(0)
    loss_fn = MultiResolutionSTFTLoss(((64, 16, 64), (128, 32, 96)))
    wav = torch.randn(2, 1, 800)
    assert loss_fn(wav, wav).item() == pytest.approx(0.0, abs=1e-6)
    # Halving the signal halves every magnitude: SC = 0.5 and log-magnitude L1 = ln 2.
    terms = loss_fn.terms(0.5 * wav, wav)
    assert terms["stft_sc"].item() == pytest.approx(0.5, abs=1e-4)
    assert terms["stft_mag"].item() == pytest.approx(math.log(2.0), abs=1e-3)
    assert loss_fn(0.5 * wav, wav).item() == pytest.approx(0.5 + math.log(2.0), abs=1e-3)
    wav_hat = torch.zeros(2, 800, requires_grad=True)
    loss = loss_fn(wav_hat, wav[:, 0])
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(wav_hat.grad).all()
    assert len(loss_fn.state_dict()) == 0
    half = loss_fn(0.5 * wav.bfloat16(), wav.bfloat16())  # AMP inputs are computed in float32
    assert half.dtype == torch.float32 and half.item() == pytest.approx(0.5 + math.log(2.0), abs=2e-2)
    with pytest.raises(ValueError, match="too short for n_fft=2048"):
        MultiResolutionSTFTLoss()(torch.zeros(1, 1000), torch.zeros(1, 1000))
    with pytest.raises(ValueError, match="resolution 0 needs hop_length > 0"):
        MultiResolutionSTFTLoss(((64, 16, 128),))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names.add(node.module or "")
    return names


OWN_ALLOWED = {"nn": ("voicegen.nn",), "losses": ("voicegen.nn", "voicegen.losses")}


@pytest.mark.parametrize("package,own_allowed", list(OWN_ALLOWED.items()))
def test_package_imports_only_torch_numpy_and_stdlib_basics(package: str, own_allowed: tuple[str, ...]) -> None:
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert len(files) >= 4
    bad = []
    for path in files:
        for name in _imported_modules(path):
            root = name.split(".")[0]
            if root in ALLOWED_ROOTS or any(name == a or name.startswith(a + ".") for a in own_allowed):
                continue
            bad.append(f"{path.name}: {name}")
    assert not bad, bad


# --- the harmonics' relative phases -------------------------------------------------------------------------------
PHASE_SR, PHASE_F0, PHASE_HOP, PHASE_FFT = 16000, 125.0, 256, 1024  # 125 Hz: every harmonic on an FFT bin


def harmonic_signal(phases, delay: float = 0.0, seconds: float = 1.0) -> torch.Tensor:
    """``sum_k cos(2 pi k f (t - delay) + phases[k - 1])``, harmonics 1..len(phases) of 125 Hz, ``(1, T)`` float64."""
    t = torch.arange(int(seconds * PHASE_SR), dtype=torch.float64) / PHASE_SR - delay
    k = torch.arange(1, len(phases) + 1, dtype=torch.float64)[:, None]
    return torch.cos(2 * math.pi * k * PHASE_F0 * t + torch.as_tensor(phases, dtype=torch.float64)[:, None]).sum(0)[None]


def phase_loss(wav_hat: torch.Tensor, wav: torch.Tensor, voiced_edges: bool = False,
               max_hz: float = 2050.0) -> torch.Tensor:
    from voicegen.losses.phase import harmonic_phase_loss

    frames = 1 + wav.shape[-1] // PHASE_HOP
    lf0 = torch.full((1, frames), math.log(PHASE_F0))
    vuv = torch.ones(1, frames)
    if not voiced_edges:  # the reflect-padded edge frames are not the steady signal
        vuv[:, :4] = vuv[:, -4:] = 0
    return harmonic_phase_loss(wav_hat.float(), wav.float(), lf0, vuv, n_fft=PHASE_FFT, hop_length=PHASE_HOP,
                               pad=(PHASE_FFT - PHASE_HOP) // 2, sample_rate=PHASE_SR,
                               window=torch.hann_window(PHASE_FFT), max_hz=max_hz)


def test_harmonic_phase_loss_ignores_a_delay_and_scores_the_pulse_shape() -> None:
    rng = torch.Generator().manual_seed(0)
    phases = (2 * math.pi * torch.rand(24, generator=rng)).tolist()
    wav = harmonic_signal(phases)
    assert abs(float(phase_loss(wav, wav))) < 1e-6
    assert float(phase_loss(harmonic_signal(phases, delay=0.0023), wav)) < 1e-3  # 37 samples later
    # Phases c k^2 against a zero-phase pulse train: d_k = phi_{k+1} - phi_k - phi_1 = 2 c k for the pairs
    # (k, k + 1) with k + 1 <= 16 (2.05 kHz / 125 Hz), all of equal weight: the loss is their mean 1 - cos(2 c k).
    c = 0.3
    expected = sum(1 - math.cos(2 * c * k) for k in range(1, 16)) / 15
    got = float(phase_loss(harmonic_signal([c * k * k for k in range(1, 25)]), harmonic_signal([0.0] * 24)))
    assert got == pytest.approx(expected, abs=2e-3)
    # Harmonics above max_hz do not count: changing them leaves the loss at 0; below it they do.
    high = [0.0] * 16 + (2 * math.pi * torch.rand(8, generator=rng)).tolist()
    assert float(phase_loss(harmonic_signal(high), harmonic_signal([0.0] * 24))) < 1e-3
    assert float(phase_loss(harmonic_signal(high), harmonic_signal([0.0] * 24), max_hz=3000.0)) > 0.1


def test_harmonic_phase_loss_has_a_gradient_and_is_zero_without_voiced_frames() -> None:
    from voicegen.losses.phase import harmonic_phase_loss

    wav = harmonic_signal([0.0] * 24).float()
    wav_hat = harmonic_signal([0.3 * k for k in range(24)]).float().requires_grad_(True)
    loss = phase_loss(wav_hat, wav)
    loss.backward()
    assert float(loss) > 0.01 and float(wav_hat.grad.abs().max()) > 0
    frames = 1 + wav.shape[-1] // PHASE_HOP
    silent = harmonic_phase_loss(wav_hat, wav, torch.full((1, frames), math.log(PHASE_F0)), torch.zeros(1, frames),
                                 n_fft=PHASE_FFT, hop_length=PHASE_HOP, pad=384, sample_rate=PHASE_SR,
                                 window=torch.hann_window(PHASE_FFT))
    assert float(silent) == 0.0
    with pytest.raises(ValueError, match=r"expected two \(B, T\) waveforms of one shape, got \(1, 16000\) and "
                                         r"\(1, 15999\)"):
        phase_loss(wav_hat, wav[:, 1:])
