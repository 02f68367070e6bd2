"""voicegen: voice conversion toolkit (mel front end, VAE, GAN vocoder, CycleGAN-VC).

The package is import-light: heavy modules (torch models, training) are imported by the code
that needs them, so ``voicegen --help`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
