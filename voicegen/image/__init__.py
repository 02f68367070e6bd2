"""voicegen.image

The image front end, with the same shape of API as ``voicegen.audio``: files and ``.npz`` arrays in
(``io``), resize/pad/crop/flip (``transforms``), data sources and datasets (``datasets``) and sample
grids saved as PNG (``grid``). Images are float32 ``(C, H, W)`` / ``(N, C, H, W)`` in [-1, 1]
(-1 black). Imports torch, numpy and Pillow; never the models, training or inference code.
"""

from voicegen.image.io import (
    ImageError,
    from_unit,
    load_image,
    load_npz,
    save_image,
    to_unit,
)

__all__ = ["ImageError", "from_unit", "load_image", "load_npz", "save_image", "to_unit"]
