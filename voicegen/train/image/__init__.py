"""voicegen.train.image: the image-only training tasks (VAE, DCGAN/conditional GAN, CycleGAN,
digit classifier), their shared data config and the export of an image run.

They reuse the one generic :class:`~voicegen.train.trainer.Trainer` and run sequence
(:mod:`voicegen.train.run`) that the audio families use; only the steps and data differ.
"""
