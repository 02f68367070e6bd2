"""One convolution factory for 1-D and 2-D, plain or transposed, with optional weight/spectral norm.

``conv(dims, ...)`` returns a torch ``Conv{1,2}d`` / ``ConvTranspose{1,2}d``; the norm is applied with
``torch.nn.utils.parametrizations`` so the module stays a plain conv (state-dict keys become
``parametrizations.weight.original0/1`` for weight norm). ``remove_weight_norm`` folds weight norm
back into a plain ``weight`` before export; outputs are unchanged.
"""

from __future__ import annotations

from typing import Literal, Union

from torch import nn
from torch.nn.utils import parametrizations, parametrize

from voicegen.nn.utils import IntOrTuple, check_dims, to_tuple, unwrap

ConvNorm = Literal["none", "weight", "spectral"]
Padding = Union[Literal["same"], int, tuple[int, ...]]
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]

CONV_NORMS = ("none", "weight", "spectral")
# Weight norm's magnitude is kept per slice of dim 0 (torch's default and the reference HiFi-GAN
# layout): per output channel for a conv, per input channel for a transposed conv.
WEIGHT_NORM_DIM = 0

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_CONV_TRANSPOSED = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}


def same_padding(kernel_size: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """Symmetric padding that keeps the length of a stride-1 conv: ``dilation * (kernel - 1) / 2``.

    With stride ``s`` the same padding gives ``ceil(length / s)`` outputs. Needs an even
    ``dilation * (kernel - 1)`` (i.e. an odd kernel), else a ``ValueError``.
    """
    pads = []
    for k, d in zip(kernel_size, dilation):
        span = d * (k - 1)
        if span % 2:
            raise ValueError(
                f"padding='same' needs an odd kernel (kernel_size={k}, dilation={d}); pass an int padding"
            )
        pads.append(span // 2)
    return tuple(pads)


def transposed_same_padding(
    kernel_size: tuple[int, ...], stride: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(padding, output_padding) making a dilation-1 transposed conv output exactly ``stride * length``.

    Output length is ``(L - 1) * s - 2 * p + k + op``; with ``p = ceil((k - s) / 2)`` and
    ``op = 2 * p - (k - s)`` (0 or 1) this is ``s * L``. Needs ``k >= s`` and ``op < s``.
    HiFi-GAN's ``k = 2 * s`` gives ``p = ceil(s / 2)``, ``op = s % 2``.
    """
    pads, extras = [], []
    for k, s in zip(kernel_size, stride):
        if k < s:
            raise ValueError(f"transposed conv with padding='same' needs kernel_size >= stride, got {k} < {s}")
        p = (k - s + 1) // 2
        op = 2 * p - (k - s)
        if op >= s:
            raise ValueError(
                f"transposed conv with padding='same' cannot give stride*length for kernel_size={k}, stride={s}; "
                "use an even kernel_size - stride or stride >= 2"
            )
        pads.append(p)
        extras.append(op)
    return tuple(pads), tuple(extras)


def conv(
    dims: int,
    in_ch: int,
    out_ch: int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    padding: Padding = "same",
    groups: int = 1,
    bias: bool = True,
    norm: ConvNorm = "none",
    transposed: bool = False,
    output_padding: IntOrTuple = 0,
    padding_mode: PaddingMode = "zeros",
) -> nn.Module:
    """Build a ``dims``-D convolution ``(B, in_ch, *spatial) -> (B, out_ch, *spatial')``.

    Args:
        dims: 1 for ``(B, C, T)`` signals, 2 for ``(B, C, H, W)`` images/mels.
        kernel_size, stride, dilation: an int (same on every axis) or one value per axis.
        padding: ``"same"`` keeps the length at stride 1 (``ceil(L / stride)`` otherwise; odd kernels
            only). For ``transposed=True``, ``"same"`` means output length exactly ``stride * L``
            (dilation 1; ``output_padding`` is then computed). An int/tuple is passed to torch as is.
        norm: ``"weight"`` (weight norm, generators/vocoders), ``"spectral"`` (discriminators) or ``"none"``.
        transposed: build a ``ConvTranspose{dims}d`` (upsampling).
        padding_mode: torch's padding mode (non-transposed only; e.g. ``"reflect"`` for image ResNets).
    """
    check_dims(dims, "conv")
    if norm not in CONV_NORMS:
        raise ValueError(f"conv: norm must be one of {CONV_NORMS}, got {norm!r}")
    if in_ch < 1 or out_ch < 1:
        raise ValueError(f"conv: channels must be >= 1, got in_ch={in_ch}, out_ch={out_ch}")
    kernel = to_tuple(kernel_size, dims, "kernel_size", minimum=1)
    strides = to_tuple(stride, dims, "stride", minimum=1)
    dilations = to_tuple(dilation, dims, "dilation", minimum=1)
    extra = to_tuple(output_padding, dims, "output_padding", minimum=0)

    if transposed:
        if padding_mode != "zeros":
            raise ValueError(f"conv: transposed convs only support padding_mode='zeros', got {padding_mode!r}")
        if padding == "same":
            if any(d != 1 for d in dilations):
                raise ValueError("conv: transposed padding='same' needs dilation=1; pass an int padding")
            pads, extra = transposed_same_padding(kernel, strides)
        else:
            pads = to_tuple(padding, dims, "padding", minimum=0)
        module: nn.Module = _CONV_TRANSPOSED[dims](
            in_ch, out_ch, unwrap(kernel), stride=unwrap(strides), padding=unwrap(pads),
            output_padding=unwrap(extra), groups=groups, bias=bias, dilation=unwrap(dilations),
        )
    else:
        pads = same_padding(kernel, dilations) if padding == "same" else to_tuple(padding, dims, "padding", minimum=0)
        module = _CONV[dims](
            in_ch, out_ch, unwrap(kernel), stride=unwrap(strides), padding=unwrap(pads),
            dilation=unwrap(dilations), groups=groups, bias=bias, padding_mode=padding_mode,
        )

    if norm == "weight":
        module = parametrizations.weight_norm(module, name="weight", dim=WEIGHT_NORM_DIM)
    elif norm == "spectral":
        module = parametrizations.spectral_norm(module, name="weight")
    return module


def _is_weight_norm(parametrization: nn.Module) -> bool:
    # torch keeps its weight-norm parametrization class private; match it by name.
    return type(parametrization).__name__ == "_WeightNorm"


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Fold every weight-norm parametrization under ``module`` into a plain ``weight`` (in place).

    Use before exporting inference weights: outputs are unchanged, the state dict gets plain
    ``weight`` keys and the forward pass no longer recomputes ``g * v / ||v||``. Spectral norm
    (discriminators only) is left alone. Returns ``module`` for chaining.
    """
    for sub in list(module.modules()):  # a list: removal edits the module tree
        if not parametrize.is_parametrized(sub):
            continue
        for name, plist in list(sub.parametrizations.items()):
            if any(_is_weight_norm(p) for p in plist):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
    return module


def has_weight_norm(module: nn.Module) -> bool:
    """True if any submodule of ``module`` still carries a weight-norm parametrization."""
    for sub in module.modules():
        if parametrize.is_parametrized(sub):
            if any(_is_weight_norm(p) for plist in sub.parametrizations.values() for p in plist):
                return True
    return False
