"""Typed options of the commands that process files: one frozen dataclass per command, plus how a batch runs.

    options = ConvertOptions(source="SF1", target="TM1", pitch="auto")
    data = options.to_json()                      # plain JSON: travels to worker processes and Ray actors
    ConvertOptions.from_json(data) == options     # a checked constructor: unknown keys are refused
    options.identity()                            # what the outputs depend on (the batch manifest's spec)

One object configures a command's per-file work wherever it runs: the single-file path, the batch
engine (inside a :class:`~voicegen.infer.batch.workers.WorkerSpec`) and later front ends (a
stream, a server). Values are checked when the object is made (ConfigError, one line), so a
bad value fails before any model loads.

Identity: a field declared with ``not_identity()`` (a plot folder, the vocoder runtime, which
changes outputs by ~1e-6) may change between runs into one folder without redoing it. Fields left
at a neutral default (None, False, 0) are left out of the identity too, so a new option added with
such a default keeps the folders made before it valid. Only the standard library is imported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from voicegen.errors import ConfigError

IDENTITY = "identity"
"""Field metadata key: False for a field the outputs do not depend on."""
NEUTRAL_DEFAULTS = (None, False, 0)
PITCH_AUTO, PITCH_NONE = "auto", "none"
MAX_PITCH_SHIFT_SEMITONES = 24.0
MAX_FORMANT_SEMITONES = 12.0
"""The formant knob moves the envelope by at most an octave either way (beyond it nothing sounds like speech)."""
F0_METHODS = ("dio", "harvest")
RUNTIMES = ("auto", "torch", "onnx")
BACKENDS = ("local", "ray")

T = TypeVar("T", bound="FileOptions")


def not_identity(default: Any = None) -> Any:
    """A dataclass field (with ``default``) that the outputs do not depend on."""
    return field(default=default, metadata={IDENTITY: False})


@dataclass(frozen=True)
class FileOptions:
    """Base of the per-file options: JSON in and out, and the identity of the outputs."""

    KIND: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        """Every field as plain JSON (str, float, bool, None)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @classmethod
    def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
        """The options from :meth:`to_json`'s dict; ConfigError (one line) for a key the class does
        not have, a missing required one or a bad value."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.KIND} options must be a JSON object, got {type(data).__name__}")
        names = [item.name for item in fields(cls)]
        unknown = sorted(str(key) for key in data if key not in names)
        if unknown:
            raise ConfigError(f"unknown {cls.KIND} option{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(unknown)}; expected {', '.join(names)}")
        missing = [item.name for item in fields(cls) if item.name not in data
                   and item.default is MISSING and item.default_factory is MISSING]
        if missing:
            raise ConfigError(f"{cls.KIND} options: missing {', '.join(missing)}")
        return cls(**data)

    def identity(self) -> dict[str, Any]:
        """The fields the outputs depend on, without those left at a neutral default (None, False, 0)."""
        kept = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if not item.metadata.get(IDENTITY, True):
                continue
            if item.default in NEUTRAL_DEFAULTS and value == item.default:
                continue
            kept[item.name] = value
        return kept

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # normalising in __post_init__ of a frozen dataclass

    def _check_choice(self, name: str, choices: tuple[str, ...], *, optional: bool = True) -> None:
        value = getattr(self, name)
        if not ((optional and value is None) or value in choices):
            raise ConfigError(f"{self.KIND} option {name} must be one of {', '.join(choices)}"
                              f"{' or None' if optional else ''}, got {value!r}")

    def _check_text(self, name: str) -> None:
        value = getattr(self, name)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.KIND} option {name} must be a non-empty string, got {value!r}")

    def _path_or_none(self, name: str) -> None:
        value = getattr(self, name)
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ConfigError(f"{self.KIND} option {name} must be a path or None, got {value!r}")
        self._set(name, os.fspath(value) if value is not None else None)


def parse_pitch(value: str | float) -> str | float:
    """``"auto"``, ``"none"`` or a shift in semitones (float, |shift| <= 24); ConfigError otherwise."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (PITCH_AUTO, PITCH_NONE):
            return text
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"--pitch must be auto, none or a number of semitones (e.g. -4.5), "
                              f"got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"--pitch must be auto, none or a number of semitones, got {value!r}")
    if abs(value) > MAX_PITCH_SHIFT_SEMITONES:
        raise ConfigError(f"--pitch {value:g}: shifts beyond +-{MAX_PITCH_SHIFT_SEMITONES:g} semitones "
                          "are not supported")
    return float(value)


@dataclass(frozen=True)
class ConvertOptions(FileOptions):
    """``voicegen convert``: ``source`` -> ``target`` speaker, ``pitch`` (auto, none or semitones;
    see :mod:`voicegen.infer.convert`), ``f0_method`` (dio, harvest; None: the vocoder's),
    ``plot`` (a PNG per file; for a batch, the folder that mirrors the input; not identity),
    ``runtime`` (auto, torch, onnx: what runs the networks; not identity), ``no_postfilter``
    (skip the bundle's post-filter and frame bank, :mod:`voicegen.infer.postfilter`,
    :mod:`voicegen.infer.framebank`), ``frame_bank_mix`` (the share of each converted frame that
    the bundle's frame bank re-draws, 0-1, 0 leaving the bank out; None: the bundle's own) and
    ``formant`` (semitones the converted mel's envelope moves, :mod:`voicegen.infer.formant`; None: the
    bundle's setting for the target, ``extra.formant``, 0 when it has none)."""

    KIND: ClassVar[str] = "convert"
    source: str
    target: str
    pitch: str | float = PITCH_AUTO
    f0_method: str | None = None
    plot: str | None = not_identity()
    runtime: str = not_identity("auto")
    no_postfilter: bool = False
    frame_bank_mix: float | None = None
    formant: float | None = None

    def __post_init__(self) -> None:
        self._check_text("source")
        self._check_text("target")
        self._set("pitch", parse_pitch(self.pitch))
        self._check_choice("f0_method", F0_METHODS)
        self._path_or_none("plot")
        self._check_choice("runtime", RUNTIMES, optional=False)
        if not isinstance(self.no_postfilter, bool):
            raise ConfigError(f"convert option no_postfilter must be true or false, got {self.no_postfilter!r}")
        self._set("frame_bank_mix", check_frame_bank_mix(self.frame_bank_mix))
        self._set("formant", None if self.formant is None else check_formant(self.formant))
        if self.no_postfilter and self.frame_bank_mix is not None:
            raise ConfigError(f"--frame-bank-mix {self.frame_bank_mix:g} and --no-postfilter: --no-postfilter leaves "
                              "the frame bank out already; pass one of them")


def check_formant(value: Any) -> float:
    """``value`` as a shift in semitones (a finite number within +-12); ConfigError (one line) otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) > MAX_FORMANT_SEMITONES:
        raise ConfigError(f"--formant must be a number of semitones within +-{MAX_FORMANT_SEMITONES:g}, got {value!r}")
    return float(value)


def check_frame_bank_mix(value: Any) -> float | None:
    """``value`` as a float in [0, 1] (the share of each converted frame a frame bank re-draws; 0 leaves the
    bank out), or None; ConfigError (one line) otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"--frame-bank-mix must be a number from 0 to 1 (0 leaves the frame bank out), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class VocodeOptions(FileOptions):
    """``voicegen vocode``: ``pitch`` (semitones, pitch-conditioned vocoders), ``f0_method`` (dio,
    harvest; None: the vocoder's own), ``runtime`` (auto, torch, onnx; not identity) and ``formant``
    (semitones the mel's envelope moves, pitch-conditioned vocoders)."""

    KIND: ClassVar[str] = "vocode"
    pitch: float = 0.0
    f0_method: str | None = None
    runtime: str = not_identity("auto")
    formant: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.pitch, bool) or not isinstance(self.pitch, (int, float)):
            raise ConfigError(f"vocode option pitch must be a number of semitones, got {self.pitch!r}")
        self._set("pitch", float(self.pitch))
        self._check_choice("f0_method", F0_METHODS)
        self._check_choice("runtime", RUNTIMES, optional=False)
        self._set("formant", check_formant(self.formant))


@dataclass(frozen=True)
class FeaturesOptions(FileOptions):
    """``voicegen features``: the mel ``preset`` (vc16k, hifigan22k), ``f0`` (append the two F0 rows
    of a pitch-conditioned vocoder) and ``plot`` (PNG, or the folder of them; not identity)."""

    KIND: ClassVar[str] = "features"
    preset: str = "vc16k"
    f0: bool = False
    plot: str | None = not_identity()

    def __post_init__(self) -> None:
        self._check_text("preset")
        if not isinstance(self.f0, bool):
            raise ConfigError(f"features option f0 must be true or false, got {self.f0!r}")
        self._path_or_none("plot")


OPTIONS_BY_KIND: dict[str, type[FileOptions]] = {cls.KIND: cls for cls in (ConvertOptions, VocodeOptions,
                                                                            FeaturesOptions)}


@dataclass(frozen=True)
class BatchOptions:
    """How a folder, glob or list input runs (the shared ``--jobs`` ... ``--progress`` options):
    ``jobs`` workers, ``dry_run``, ``retry_failed``, ``max_duration`` seconds per input, ``backend``
    (local, ray) and its ``address``, ``progress`` (None: a bar only on a terminal). A single file
    takes ``max_duration`` and ``dry_run`` only."""

    jobs: int = 1
    dry_run: bool = False
    retry_failed: bool = False
    max_duration: float | None = None
    backend: str = "local"
    address: str | None = None
    progress: bool | None = None

    @property
    def inline(self) -> bool:
        """Files run in this process, with the model the command already loaded."""
        return self.jobs == 1 and self.backend == "local"
