"""Pair converted files with their references (and sources) by name; check one sample rate.

A file's name for pairing is its path relative to its folder without the extension, so
``conv/sub/200001.wav`` pairs with ``ref/sub/200001.flac``. :func:`match_files` keeps the names
common to the converted and reference folders (and the source folder, when given) and lists the
others (a reference folder often holds more than was converted); :func:`pair_files` is the strict
form, where every converted file needs a reference, every reference a converted file and, with a
source folder, every pair a source (extra source files are ignored). Three single files (converted,
reference and optional source) are one pair, whatever their names. All files must share one
sample rate, because the mel-cepstrum order and warping depend on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from voicegen.audio.io import AUDIO_EXTENSIONS, audio_info, is_audio_file
from voicegen.errors import AudioError

# Unpaired names quoted in an error message.
MAX_NAMES_SHOWN = 5


@dataclass(frozen=True)
class FilePair:
    """One converted file with its reference, and the source it was converted from (or None)."""

    name: str
    converted: Path
    reference: Path
    source: Path | None = None


def list_named_audio(folder: str | os.PathLike, role: str) -> dict[str, Path]:
    """Audio files under ``folder`` (recursive, hidden ones skipped) keyed by pairing name.

    ``role`` ("converted", "reference", "source") names the folder in error messages.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioError(f"{folder}: {role} folder not found; pass a folder of audio files")
    named: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if not (path.is_file() and is_audio_file(path)):
            continue
        name = relative.with_suffix("").as_posix()
        if name in named:
            raise AudioError(f"{folder}: {named[name].name} and {path.name} both pair as {name!r}; "
                             f"keep one of them")
        named[name] = path
    if not named:
        raise AudioError(f"{folder}: no audio files ({' '.join(AUDIO_EXTENSIONS)}) in this {role} "
                         f"folder or below")
    return named


@dataclass
class Matching:
    """The common pairs (sorted by name) and the names left out: ``unmatched`` maps a problem
    (``"no reference"``, ``"no converted file"``, ``"no source"``) to the sorted names it applies to
    (converted-side names for ``no reference`` and ``no source``)."""

    pairs: list[FilePair]
    unmatched: dict[str, list[str]] = field(default_factory=dict)

    @property
    def num_unmatched(self) -> int:
        return sum(len(names) for names in self.unmatched.values())

    def describe(self, limit: int = MAX_NAMES_SHOWN) -> list[str]:
        """One line per problem: count, then up to ``limit`` names."""
        return [f"{len(names)} {PROBLEM_TEXT[problem]}: {_names(names, limit)}"
                for problem, names in self.unmatched.items() if names]


# How each kind of unmatched name is described.
PROBLEM_TEXT = {"no reference": "converted file(s) without a reference (not scored)",
                "no converted file": "reference file(s) without a converted file (not scored)",
                "no source": "converted file(s) without a source (not scored)"}


def match_files(
    converted_dir: str | os.PathLike,
    reference_dir: str | os.PathLike,
    source_dir: str | os.PathLike | None = None,
    *,
    strict: bool = False,
) -> Matching:
    """The pairs common to the folders and the unmatched names. AudioError (one line) when no pair
    is common, or, with ``strict``, when any file is unmatched (naming the first few).

    Files instead of folders are one pair (named after the converted file): all of them must be
    files then.
    """
    paths = [Path(p) for p in (converted_dir, reference_dir, source_dir) if p is not None]
    if any(path.is_file() for path in paths):
        return Matching(pairs=[_single_pair(*paths)], unmatched={})
    converted = list_named_audio(converted_dir, "converted")
    reference = list_named_audio(reference_dir, "reference")
    source: dict[str, Path] | None = None if source_dir is None else list_named_audio(source_dir, "source")
    if strict:
        _require_all(converted, reference, f"converted file(s) have no reference in {reference_dir}")
        _require_all(reference, converted, f"reference file(s) have no converted file in {converted_dir}")
        if source is not None:
            _require_all(converted, source, f"converted file(s) have no source in {source_dir}")
    common = set(converted) & set(reference) & (set(source) if source is not None else set(converted))
    unmatched = {"no reference": sorted(set(converted) - set(reference)),
                 "no converted file": sorted(set(reference) - set(converted))}
    if source is not None:
        unmatched["no source"] = sorted((set(converted) & set(reference)) - set(source))
    if not common:
        folders = f"{converted_dir} and {reference_dir}" + (f" and {source_dir}" if source is not None else "")
        raise AudioError(f"no file pairs in common between {folders} ({len(converted)} converted, {len(reference)} "
                         f"reference files); files pair by name (path without extension)")
    pairs = [FilePair(name=name, converted=converted[name], reference=reference[name],
                      source=source.get(name) if source is not None else None) for name in sorted(common)]
    return Matching(pairs=pairs, unmatched={key: names for key, names in unmatched.items() if names})


def pair_files(
    converted_dir: str | os.PathLike,
    reference_dir: str | os.PathLike,
    source_dir: str | os.PathLike | None = None,
) -> list[FilePair]:
    """Pairs sorted by name; AudioError naming the unpaired files when the folders disagree
    (:func:`match_files` with ``strict=True``)."""
    return match_files(converted_dir, reference_dir, source_dir, strict=True).pairs


def _single_pair(converted: Path, reference: Path, source: Path | None = None) -> FilePair:
    """One pair of single files; AudioError when one of them is a folder or missing."""
    for role, path in (("converted", converted), ("reference", reference), ("source", source)):
        if path is None:
            continue
        if not path.is_file():
            state = "is a folder" if path.is_dir() else "not found"
            raise AudioError(f"{path}: {role} file {state}; pass files for all of --converted, --reference "
                             "(and --source) to score one pair, or folders for all of them")
    return FilePair(name=converted.stem, converted=converted, reference=reference, source=source)


def common_sample_rate(pairs: list[FilePair]) -> int:
    """The one sample rate of every file in ``pairs``; AudioError naming the first that differs."""
    if not pairs:
        raise AudioError("no file pairs to evaluate")
    first = pairs[0].reference
    rate = file_sample_rate(first)
    for pair in pairs:
        for role, path in (("converted", pair.converted), ("reference", pair.reference),
                           ("source", pair.source)):
            if path is None:
                continue
            other = file_sample_rate(path)
            if other != rate:
                raise AudioError(f"{path}: {role} file is {other} Hz but {first} is {rate} Hz; "
                                 f"resample so that all files share one rate (e.g. 16000 Hz)")
    return rate


def file_sample_rate(path: Path) -> int:
    """The rate from the file header; a file the header reader refuses gets load_audio's error."""
    try:
        return int(sf.info(str(path)).samplerate)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return audio_info(path).sample_rate  # raises the one-line AudioError for a bad file


def _require_all(have: dict[str, Path], among: dict[str, Path], what: str) -> None:
    missing = sorted(set(have) - set(among))
    if missing:
        shown = ", ".join(have[name].name if "/" not in name else name for name in missing[:MAX_NAMES_SHOWN])
        more = f" and {len(missing) - MAX_NAMES_SHOWN} more" if len(missing) > MAX_NAMES_SHOWN else ""
        raise AudioError(f"{len(missing)} {what}: {shown}{more}; files pair by name (path without "
                         f"extension)")


def _names(names: list[str], limit: int) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
