"""Stage 1 of a recipe: pick a corpus' files into the folders the training commands read.

:func:`prepare_folder` selects audio files under a source folder (sorted by relative path) with
optional filters, in this order:

* ``include`` / ``exclude``: glob patterns matched against the file name or its stem (``arctic_a*``,
  ``*_mic2.flac``, ``LJ001-000[45]``);
* ``ids``: ``(low, high)``: keep files whose utterance id, the last run of digits in the name
  (``100012`` in ``SF1_100012.wav``), lies in ``[low, high]``;
* ``per_speaker``: at most N files from each first-level subfolder (a speaker in LibriTTS/VCTK);
* ``skip`` then ``first``: drop the first ``skip`` files, keep the next ``first``;
* ``hold_out``: N files (chosen by a hash of the file name, so stable when files are added) go to
  ``hold_out_dir`` instead (a held-out split for validation or evaluation).

Each chosen file is written under the output folder at its path relative to the source (so parallel
recordings keep matching names): a symbolic link to the original (a copy where links are not
possible), or, with ``sample_rate`` set and the file at another rate, a resampled 16-bit wav. The
folder is built beside the destination and swapped in whole; ``.prepare.json`` records the source,
filters and files (hidden: audio listings skip it). Torch-free.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from voicegen.errors import AudioError, ConfigError
from voicegen.fileutil import atomic_dir

RECORD_NAME = ".prepare.json"
_LAST_DIGITS = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class Selection:
    """Filters of :func:`prepare_folder` (see the module docstring); ``None`` / empty means no filter."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    ids: tuple[int, int] | None = None
    per_speaker: int | None = None
    skip: int = 0
    first: int | None = None
    hold_out: int = 0

    def __post_init__(self) -> None:
        if self.ids is not None and not 0 <= self.ids[0] <= self.ids[1]:
            raise ConfigError(f"--ids must be LOW-HIGH with 0 <= LOW <= HIGH, got {self.ids[0]}-{self.ids[1]}")
        for name in ("per_speaker", "first"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        for name in ("skip", "hold_out"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare_folder` wrote: file counts and how many were resampled."""

    out_dir: Path
    files: int
    held_out: int
    resampled: int


def parse_ids(text: str) -> tuple[int, int]:
    """``"100001-100081"`` -> ``(100001, 100081)``; a single number means just that id."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not match:
        raise ConfigError(f"--ids {text!r}: expected LOW-HIGH, e.g. 100001-100081")
    low = int(match.group(1))
    return low, int(match.group(2) or low)


def utterance_id(path: str | os.PathLike) -> int | None:
    """The last run of digits in a file's stem (``arctic_a0012`` -> 12), or None without digits."""
    match = _LAST_DIGITS.search(Path(path).stem)
    return int(match.group(1)) if match else None


def select_files(source: str | os.PathLike, selection: Selection) -> tuple[list[Path], list[Path]]:
    """(kept, held out) files under ``source``, as absolute paths; AudioError when nothing matches."""
    from voicegen.audio.io import AUDIO_EXTENSIONS

    source = Path(source)
    if not source.is_dir():
        raise AudioError(f"{source}: folder not found; check --data-dir (or run stage 0 to download the corpus)")
    found = sorted(p for p in source.rglob("*")
                   if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith("."))
    files = found
    if selection.include:
        files = [p for p in files if _matches(p, selection.include)]
    if selection.exclude:
        files = [p for p in files if not _matches(p, selection.exclude)]
    if selection.ids is not None:
        low, high = selection.ids
        files = [p for p in files if (uid := utterance_id(p)) is not None and low <= uid <= high]
    if selection.per_speaker is not None:
        counts: dict[str, int] = {}
        kept = []
        for p in files:
            rel = p.relative_to(source).parts
            speaker = rel[0] if len(rel) > 1 else ""
            if counts.get(speaker, 0) < selection.per_speaker:
                counts[speaker] = counts.get(speaker, 0) + 1
                kept.append(p)
        files = kept
    files = files[selection.skip:]
    if selection.first is not None:
        files = files[: selection.first]
    if not files:
        ids = [u for p in found if (u := utterance_id(p)) is not None]
        seen = f"ids {min(ids)}-{max(ids)}" if ids else "no numbered names"
        raise AudioError(f"{source}: no audio file matches the selection ({len(found)} audio files found, "
                         f"{seen}); check the folder and the filters")
    if selection.hold_out >= len(files) and selection.hold_out:
        raise AudioError(f"{source}: cannot hold out {selection.hold_out} of {len(files)} selected files; "
                         "lower --hold-out")
    ranked = sorted(files, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest())
    held = set(ranked[: selection.hold_out])
    return [p for p in files if p not in held], [p for p in files if p in held]


def _matches(path: Path, patterns: Sequence[str]) -> bool:
    """Whether the file name or its stem matches one of the glob ``patterns`` (``LJ050-*``, ``*_mic2.flac``)."""
    return any(fnmatch.fnmatch(path.name, pat) or fnmatch.fnmatch(path.stem, pat) for pat in patterns)


def prepare_folder(source: str | os.PathLike, out_dir: str | os.PathLike, selection: Selection = Selection(), *,
                   hold_out_dir: str | os.PathLike | None = None, sample_rate: int | None = None,
                   overwrite: bool = False) -> Prepared:
    """Write the selected files of ``source`` into ``out_dir`` (and held-out ones into ``hold_out_dir``).

    Refuses an existing output folder unless ``overwrite`` (then replaced whole, atomically).
    """
    source = Path(source).resolve()
    outputs = [Path(out_dir)] + ([Path(hold_out_dir)] if hold_out_dir is not None else [])
    if selection.hold_out and hold_out_dir is None:
        raise ConfigError("--hold-out needs --hold-out-dir (where the held-out files go)")
    for path in outputs:
        if path.exists() and not overwrite:
            raise ConfigError(f"{path} already exists; pass --overwrite to replace it")
        if path.resolve() == source or source in path.resolve().parents:
            raise ConfigError(f"{path}: the output folder must not be inside the source folder {source}")
    kept, held = select_files(source, selection)
    resampled = _write(source, kept, Path(out_dir), selection, sample_rate)
    if hold_out_dir is not None:
        resampled += _write(source, held, Path(hold_out_dir), selection, sample_rate)
    return Prepared(Path(out_dir), len(kept), len(held), resampled)


def _write(source: Path, files: Sequence[Path], out_dir: Path, selection: Selection, sample_rate: int | None) -> int:
    resampled = 0
    names = []
    with atomic_dir(out_dir) as tmp:
        tmp.mkdir()
        for path in files:
            rel = path.relative_to(source)
            if sample_rate is not None and _rate(path) != sample_rate:
                _resample(path, (tmp / rel).with_suffix(".wav"), sample_rate)
                names.append(str(rel.with_suffix(".wav")))
                resampled += 1
            else:
                _link(path, tmp / rel)
                names.append(str(rel))
        record = {"source": str(source), "selection": asdict(selection), "sample_rate": sample_rate,
                  "files": names}
        (tmp / RECORD_NAME).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return resampled


def _rate(path: Path) -> int:
    import soundfile as sf

    try:
        return int(sf.info(str(path)).samplerate)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"{path}: cannot read the audio header ({err}); remove or replace the file") from None


def _resample(path: Path, dest: Path, sample_rate: int) -> None:
    from voicegen.audio.io import load_audio
    from voicegen.audio.writer import save_audio

    save_audio(dest, load_audio(path, sample_rate), sample_rate)


def _link(path: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(path, dest)
    except OSError:  # file systems without symbolic links
        shutil.copy2(path, dest)
