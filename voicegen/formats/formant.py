"""``extra.formant`` of a converter bundle (CycleGAN or VAE): the formant shift each target's conversions get.

``artifact.json`` ``extra.formant``
    ``{TARGET: SEMITONES}``: a target speaker of the converter and the semitones its converted mel's spectral
    envelope moves before the vocoder when no ``--formant`` is given (:mod:`voicegen.infer.formant`; a
    pitch-conditioned vocoder only), a finite number within +-:data:`MAX_SEMITONES`. Targets it does not list
    are not shifted. Written by ``voicegen bundle --formant TARGET=SEMITONES``; absent in older bundles.

Torch-free: read when a converter loads and by ``voicegen models``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from voicegen.errors import ArtifactError
from voicegen.formats.cyclegan import check_targets

MAX_SEMITONES = 12.0
"""The largest shift either way (``voicegen.infer.options.MAX_FORMANT_SEMITONES``, the ``--formant`` knob's)."""


def within_range(shift: Any) -> bool:
    """Whether ``shift`` is a usable formant shift: a finite number (not a bool) within +-:data:`MAX_SEMITONES`."""
    return (not isinstance(shift, bool) and isinstance(shift, (int, float)) and math.isfinite(shift)
            and abs(shift) <= MAX_SEMITONES)


def parse_formant(extra: Any, speakers: tuple[str, ...], root: Path) -> dict[str, float]:
    """The checked ``extra.formant`` of a converter with ``speakers`` as ``{target: semitones}`` (empty when
    absent); one-line ArtifactError naming ``root`` when it is malformed or names a speaker the converter lacks."""
    value = extra.get("formant") if isinstance(extra, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(name, str) and name and within_range(shift)
                                              for name, shift in value.items()):
        raise ArtifactError(f"{root}: extra.formant must be {{TARGET: SEMITONES}} with shifts within "
                            f"+-{MAX_SEMITONES:g}, got {value!r}; re-bundle with `voicegen bundle --formant`")
    check_targets("formant", value, speakers, root, " --formant")
    return {name: float(shift) for name, shift in value.items()}
