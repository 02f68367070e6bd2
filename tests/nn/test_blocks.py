"""voicegen.nn blocks: conv padding, norms, GLU, residual stacks, resampling, distributions."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from voicegen.nn import (
    GLU,
    ChannelLayerNorm,
    ConvBlock,
    DiagonalGaussian,
    DilatedResidualStack,
    Downsample,
    MultiReceptiveField,
    PixelShuffle,
    PixelUnshuffle,
    ResidualBlock,
    Upsample,
    activation,
    conv,
    has_weight_norm,
    norm_layer,
    remove_weight_norm,
)
from voicegen.nn.distributions import LOGVAR_MAX


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("kernel_size,dilation", [(1, 1), (3, 1), (3, 2), (5, 3), (7, 1), (4, 2)])
def test_conv_same_padding_keeps_size(dims: int, kernel_size: int, dilation: int) -> None:
    shape = (2, 3, 13) if dims == 1 else (2, 3, 11, 9)
    layer = conv(dims, 3, 5, kernel_size, dilation=dilation)
    y = layer(torch.randn(shape))
    assert y.shape == (shape[0], 5, *shape[2:])


def test_conv_same_padding_with_stride_is_ceil_and_per_axis() -> None:
    y = conv(2, 1, 2, (5, 3), stride=(2, 3))(torch.randn(1, 1, 11, 10))
    assert y.shape == (1, 2, math.ceil(11 / 2), math.ceil(10 / 3))


def test_conv_same_padding_rejects_even_kernel() -> None:
    with pytest.raises(ValueError, match=r"padding='same' needs an odd kernel \(kernel_size=4, dilation=1\)"):
        conv(1, 1, 1, 4)
    with pytest.raises(ValueError, match="dims must be 1"):
        conv(3, 1, 1, 3)
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 2 ints"):
        conv(2, 1, 1, (3, 3, 3))


@pytest.mark.parametrize("stride,kernel", [(2, 4), (3, 6), (5, 10), (8, 16), (5, 11), (4, 9)])
def test_transposed_same_gives_stride_times_length(stride: int, kernel: int) -> None:
    for length in (1, 7, 10):
        y = conv(1, 2, 3, kernel, stride=stride, transposed=True)(torch.randn(1, 2, length))
        assert y.shape[-1] == stride * length


def test_conv_norm_options_are_parametrizations() -> None:
    plain = conv(1, 2, 3, 3)
    weighted = conv(1, 2, 3, 3, norm="weight")
    spectral = conv(2, 2, 3, 3, norm="spectral")
    weighted_t = conv(1, 2, 3, 4, stride=2, norm="weight", transposed=True)
    assert not parametrize.is_parametrized(plain)
    assert isinstance(weighted, nn.Conv1d) and parametrize.is_parametrized(weighted, "weight")
    assert isinstance(weighted_t, nn.ConvTranspose1d) and has_weight_norm(weighted_t)
    assert "parametrizations.weight.original0" in weighted.state_dict()
    assert parametrize.is_parametrized(spectral, "weight") and not has_weight_norm(spectral)
    with pytest.raises(ValueError, match="norm must be one of"):
        conv(1, 2, 3, 3, norm="batch")  # type: ignore[arg-type]


def test_remove_weight_norm_keeps_outputs_and_plain_keys() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        Upsample(1, 4, 3, 4, "transposed", conv_norm="weight"),
        DilatedResidualStack(1, 3, 3, (1, 3), kind=1, conv_norm="weight"),
        conv(1, 3, 3, 3, norm="spectral"),
    ).eval()
    # Make the weight-norm magnitudes differ from ||v|| so folding them in is actually tested.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("original0"):
                p.mul_(1.7)
    x = torch.randn(2, 4, 9)
    with torch.no_grad():
        before = model(x)
    assert remove_weight_norm(model) is model
    assert not has_weight_norm(model)
    keys = model.state_dict().keys()
    assert "0.conv.weight" in keys and "1.convs1.0.weight" in keys
    assert not any("original0" in k for k in keys)
    assert parametrize.is_parametrized(model[2], "weight")  # spectral norm is left in place
    with torch.no_grad():
        after = model(x)
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dims", [1, 2])
def test_norm_layers_normalise(dims: int) -> None:
    torch.manual_seed(0)
    shape = (3, 4, 16) if dims == 1 else (3, 4, 5, 6)
    x = torch.randn(shape) * 3 + 2
    axes = tuple(range(2, x.dim()))
    inst = norm_layer("instance", dims, 4)(x)
    torch.testing.assert_close(inst.mean(dim=axes), torch.zeros(3, 4), atol=1e-5, rtol=0)
    batch = norm_layer("batch", dims, 4).train()(x)
    torch.testing.assert_close(batch.mean(dim=(0, *axes)), torch.zeros(4), atol=1e-5, rtol=0)
    layer = norm_layer("layer", dims, 4)(x)
    expected = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(layer, expected, atol=1e-5, rtol=1e-5)
    assert isinstance(norm_layer("layer", dims, 4), ChannelLayerNorm)
    assert isinstance(norm_layer("none", dims, 4), nn.Identity)


def test_norm_layer_groups_and_errors() -> None:
    assert norm_layer("group", 2, 48).num_groups == 16
    assert norm_layer("group", 1, 6, groups=3).num_groups == 3
    with pytest.raises(ValueError, match="groups=4 must divide channels=6"):
        norm_layer("group", 1, 6, groups=4)
    with pytest.raises(ValueError, match="kind must be one of"):
        norm_layer("weight", 1, 6)  # type: ignore[arg-type]
    assert norm_layer("instance", 2, 3, affine=False).weight is None


def test_glu_and_activation_factory() -> None:
    x = torch.tensor([[1.0, -2.0, 0.0, 3.0]])
    torch.testing.assert_close(GLU(dim=1)(x), torch.tensor([[1.0 * 0.5, -2.0 * torch.sigmoid(torch.tensor(3.0))]]))
    with pytest.raises(ValueError, match="dimension 1 has odd size 3"):
        GLU()(torch.zeros(1, 3, 2))
    assert activation("leaky_relu", 0.1)(torch.tensor([-10.0])).item() == pytest.approx(-1.0)
    assert isinstance(activation("glu"), GLU)
    with pytest.raises(ValueError, match="name must be one of"):
        activation("swish")  # type: ignore[arg-type]


def test_conv_block_glu_doubles_conv_channels() -> None:
    block = ConvBlock(2, 3, 8, 5, 2, norm="instance", act="glu")
    assert block.conv.out_channels == 16 and block.norm.num_features == 16
    y = block(torch.randn(2, 3, 9, 12))
    assert y.shape == (2, 8, 5, 6)


def test_residual_block_is_identity_when_last_conv_is_zero() -> None:
    torch.manual_seed(0)
    block = ResidualBlock(2, 4, 3, norm="instance", padding_mode="reflect")
    last = block.units[0][1].conv
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    x = torch.randn(2, 4, 7, 5)
    torch.testing.assert_close(block(x), x)


def test_residual_block_gated_1d_and_dilations() -> None:
    block = ResidualBlock(1, 6, 3, dilations=(1, 2, 4), norm="instance", gated=True, hidden_channels=10)
    assert len(block.units) == 3
    first = block.units[0][0]
    assert isinstance(first.act, GLU) and first.conv.out_channels == 20
    assert block.units[2][0].conv.dilation == (4,)
    assert block(torch.randn(2, 6, 11)).shape == (2, 6, 11)
    with pytest.raises(ValueError, match="gated=True uses GLU"):
        ResidualBlock(1, 6, gated=True, act="relu")


def test_dilated_stack_matches_manual_formula() -> None:
    torch.manual_seed(0)
    stack = DilatedResidualStack(1, 2, 3, (1, 3), kind=2, conv_norm="none")
    assert len(stack.convs1) == 2 and len(stack.convs2) == 0
    x = torch.randn(1, 2, 10)
    expected = x
    for layer, d in zip(stack.convs1, (1, 3)):
        expected = expected + F.conv1d(F.leaky_relu(expected, 0.1), layer.weight, layer.bias, padding=d, dilation=d)
    torch.testing.assert_close(stack(x), expected)
    kind1 = DilatedResidualStack(2, 2, 3, (1, 3, 5), kind=1)
    assert len(kind1.convs2) == 3
    assert kind1(torch.randn(1, 2, 6, 7)).shape == (1, 2, 6, 7)


def test_multi_receptive_field_is_mean_of_stacks() -> None:
    torch.manual_seed(0)
    mrf = MultiReceptiveField(1, 3, (3, 5), ((1, 3), (1, 2)), kind=1)
    x = torch.randn(2, 3, 12)
    expected = (mrf.stacks[0](x) + mrf.stacks[1](x)) / 2
    torch.testing.assert_close(mrf(x), expected)
    with pytest.raises(ValueError, match="one dilation list per kernel size"):
        MultiReceptiveField(1, 3, (3, 5), ((1, 3),))


@pytest.mark.parametrize("factor", [2, 4, 5, 8])
@pytest.mark.parametrize("length", [7, 13])
def test_upsample_lengths_exact(factor: int, length: int) -> None:
    x = torch.randn(1, 4, length)
    for kind in ("transposed", "pixel_shuffle", "nearest"):
        assert Upsample(1, 4, 3, factor, kind)(x).shape == (1, 3, factor * length), kind
    assert Upsample(1, 4, 3, factor).conv.kernel_size == (2 * factor,)


def test_upsample_2d_and_downsample_sizes() -> None:
    x = torch.randn(2, 4, 9, 11)
    assert Upsample(2, 4, 6, 2, "pixel_shuffle")(x).shape == (2, 6, 18, 22)
    assert Upsample(2, 4, 6, (2, 1), "nearest")(x).shape == (2, 6, 18, 11)
    assert Upsample(2, 4, 6, 3, "transposed")(x).shape == (2, 6, 27, 33)
    for kind in ("conv", "avgpool"):
        assert Downsample(2, 4, 6, 2, kind)(x).shape == (2, 6, 5, 6)
        assert Downsample(1, 4, 4, 4, kind)(torch.randn(1, 4, 13)).shape == (1, 4, 4)
    with pytest.raises(ValueError, match="transposed upsampling needs factor >= 2"):
        Upsample(1, 4, 4, 1)


def test_avgpool_downsample_values() -> None:
    x = torch.arange(7.0).reshape(1, 1, 7)
    y = Downsample(1, 1, 1, 3, "avgpool")(x)
    torch.testing.assert_close(y, torch.tensor([[[1.0, 4.0, 6.0]]]))


def test_pixel_shuffle_matches_torch_and_inverts() -> None:
    torch.manual_seed(0)
    x2 = torch.randn(2, 12, 3, 5)
    torch.testing.assert_close(PixelShuffle(2, 2)(x2), nn.PixelShuffle(2)(x2))
    torch.testing.assert_close(PixelUnshuffle(2, 2)(PixelShuffle(2, 2)(x2)), x2)
    x1 = torch.arange(12.0).reshape(1, 6, 2)  # channel c, time t holds 2c + t
    y1 = PixelShuffle(1, 3)(x1)
    # Output channel 0 interleaves input channels 0, 1, 2: [c0t0, c1t0, c2t0, c0t1, c1t1, c2t1].
    torch.testing.assert_close(y1[0, 0], torch.tensor([0.0, 2.0, 4.0, 1.0, 3.0, 5.0]))
    assert y1.shape == (1, 2, 6)
    torch.testing.assert_close(PixelUnshuffle(1, 3)(y1), x1)
    x_mixed = torch.randn(1, 6, 4, 5)
    torch.testing.assert_close(PixelUnshuffle(2, (3, 2))(PixelShuffle(2, (3, 2))(x_mixed)), x_mixed)
    with pytest.raises(ValueError, match="not divisible by factor"):
        PixelUnshuffle(1, 3)(torch.zeros(1, 1, 7))


def test_gaussian_sample_has_right_moments_and_gradients() -> None:
    mean = torch.tensor([0.0, 2.0, -1.0]).requires_grad_()
    logvar = torch.log(torch.tensor([1.0, 0.25, 4.0])).requires_grad_()
    n = 20000
    dist = DiagonalGaussian(mean.expand(n, 3), logvar.expand(n, 3))
    draws = dist.sample(torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws.mean(0), mean.detach(), atol=0.05, rtol=0)
    torch.testing.assert_close(draws.std(0), torch.tensor([1.0, 0.5, 2.0]), atol=0.03, rtol=0)
    draws.sum().backward()
    torch.testing.assert_close(mean.grad, torch.full((3,), float(n)))
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0
    torch.testing.assert_close(dist.mode(), mean.detach().expand(n, 3))


def test_gaussian_kl_log_prob_against_torch_distributions() -> None:
    torch.manual_seed(0)
    mean, logvar = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    dist = DiagonalGaussian(mean, logvar)
    ref = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    std_normal = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    torch.testing.assert_close(dist.kl_standard_normal(), torch.distributions.kl_divergence(ref, std_normal))
    torch.testing.assert_close(
        dist.kl_standard_normal(reduce_dims=(1, 2)), torch.distributions.kl_divergence(ref, std_normal).sum((1, 2))
    )
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(dist.log_prob(x), ref.log_prob(x))
    torch.testing.assert_close(dist.nll(x, reduce_dims=(1, 2)), -ref.log_prob(x).sum((1, 2)))
    zero = DiagonalGaussian(torch.zeros(5), torch.zeros(5)).kl_standard_normal()
    assert torch.equal(zero, torch.zeros(5))


def test_gaussian_logvar_is_clamped_and_moments_split() -> None:
    dist = DiagonalGaussian(torch.zeros(1), torch.tensor([100.0]))
    assert dist.logvar.item() == LOGVAR_MAX
    assert dist.std.item() == pytest.approx(math.exp(LOGVAR_MAX / 2), rel=1e-5)
    moments = torch.arange(8.0).reshape(1, 4, 2)
    split = DiagonalGaussian.from_moments(moments)
    torch.testing.assert_close(split.mean, moments[:, :2])
    with pytest.raises(ValueError, match="shapes differ"):
        DiagonalGaussian(torch.zeros(2), torch.zeros(3))
