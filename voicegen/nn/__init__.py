"""voicegen.nn

Domain-agnostic building blocks, each written once for 1-D signals ``(B, C, T)`` and 2-D
images/mels ``(B, C, H, W)`` (a ``dims`` argument): convs with weight/spectral norm, norms, GLU,
conv/residual blocks, HiFi-GAN dilated stacks, up/downsampling, PatchGAN, diagonal Gaussians.
Imports only torch.
"""

from voicegen.nn.activation import GLU, ActName, activation
from voicegen.nn.blocks import (
    ConvBlock,
    DilatedResidualStack,
    MultiReceptiveField,
    ResidualBlock,
)
from voicegen.nn.conv import (
    ConvNorm,
    conv,
    has_weight_norm,
    remove_weight_norm,
    same_padding,
)
from voicegen.nn.distributions import LOGVAR_MAX, LOGVAR_MIN, DiagonalGaussian
from voicegen.nn.norm import ChannelLayerNorm, NormKind, norm_layer
from voicegen.nn.patchgan import PatchGANDiscriminator
from voicegen.nn.resample import Downsample, PixelShuffle, PixelUnshuffle, Upsample

__all__ = [
    "GLU",
    "LOGVAR_MAX",
    "LOGVAR_MIN",
    "ActName",
    "ChannelLayerNorm",
    "ConvBlock",
    "ConvNorm",
    "DiagonalGaussian",
    "DilatedResidualStack",
    "Downsample",
    "MultiReceptiveField",
    "NormKind",
    "PatchGANDiscriminator",
    "PixelShuffle",
    "PixelUnshuffle",
    "ResidualBlock",
    "Upsample",
    "activation",
    "conv",
    "has_weight_norm",
    "norm_layer",
    "remove_weight_norm",
    "same_padding",
]
