"""Batch inputs: a file, a folder (recursive), a glob or a list file -> jobs with mirrored outputs.

    jobs = expand_inputs("clips/", Path("out"), suffix=".wav", accept=is_audio_file)
    jobs[0].src, jobs[0].rel            # clips/sub/a.flac, PurePosixPath("sub/a.wav")

The output tree mirrors the input below its *root*: the folder itself, the part of a glob before its
first wildcard, or the deepest folder holding every file of a list file. Output paths are checked
before any work: none may contain ``..``, be absolute, or lead out of the output folder through a
symlinked folder inside it; an output that would replace its own input is refused too. Hidden files
and folders (``.name``) are skipped, and so is the output folder when it lies inside the input.
Symlinked folders are not followed by a folder input or by a glob's ``**`` (``*`` and ``?`` match
them as usual), so symlink loops cannot repeat files or make the walk endless. A path that exists
but is not a regular file or a folder (a FIFO, a device) is refused at once.
"""

from __future__ import annotations

import fnmatch
import functools
import glob as globlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import soundfile as sf

from voicegen.errors import AudioError
from voicegen.pathcheck import not_regular_message, special_file_kind

LIST_SUFFIXES = (".txt", ".lst", ".list")
"""A file input with one of these suffixes is a list file: one input path per line."""
LIST_COMMENT = "#"
GLOB_CHARS = frozenset("*?[")
RECURSIVE_WILDCARD = "**"


@dataclass(frozen=True)
class Job:
    """One file to process: ``src`` (absolute, symlinks kept) and ``rel``, its output path below
    the output folder (POSIX, no ``..``, with the kind's output suffix)."""

    src: Path
    rel: PurePosixPath

    def dest(self, out_dir: Path) -> Path:
        return out_dir / self.rel


def input_kind(spec: str | os.PathLike) -> str:
    """``"folder"``, ``"list"`` (a .txt/.lst/.list file), ``"file"`` or ``"glob"`` (a path that
    does not exist and holds a wildcard); AudioError when it is none of them."""
    path = Path(spec)
    kind = special_file_kind(path)
    if kind is not None:
        raise AudioError(not_regular_message(spec, kind))
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "list" if path.suffix.lower() in LIST_SUFFIXES else "file"
    if GLOB_CHARS & set(str(spec)):
        return "glob"
    raise AudioError(f"{spec}: not found; pass an audio file, a folder, a glob ('clips/**/*.wav') "
                     "or a list file (.txt, one path per line)")


def is_batch_input(spec: str | os.PathLike) -> bool:
    """True for a folder, a glob or a list file (the inputs the batch engine takes)."""
    return input_kind(spec) != "file"


def input_stem(spec: str | os.PathLike) -> str:
    """A name for default outputs: the folder's name, the list file's or the file's stem, or the
    name of a glob's folder before its first wildcard."""
    kind = input_kind(spec)
    if kind == "folder":
        return Path(os.path.abspath(spec)).name
    if kind == "glob":
        return _glob_root(str(spec)).name
    return Path(spec).stem


def expand_inputs(spec: str | os.PathLike, out_dir: str | os.PathLike, *, suffix: str,
                  accept: Callable[[Path], bool]) -> list[Job]:
    """Jobs for every accepted file of ``spec`` (sorted), each with its mirrored output path.

    ``accept(path)`` picks the inputs of a folder or glob by name (e.g. audio extensions); a list
    file's entries are all taken, missing ones included (each then fails on its own, not the
    batch). Raises AudioError (one line) for no inputs, two inputs with one output, an output
    that would escape ``out_dir`` or replace its input.
    """
    out_dir = Path(os.path.abspath(out_dir))
    kind = input_kind(spec)
    if kind in ("folder", "glob"):
        root = Path(os.path.abspath(spec)) if kind == "folder" else _glob_root(str(spec))
        if root == out_dir:
            raise AudioError(f"{out_dir}: the output folder is the input folder; choose another output folder")
    if kind == "folder":
        files = _walk(root, out_dir, accept)
    elif kind == "glob":
        files = [p for p in _glob(str(spec), root) if p.is_file() and accept(p) and not _hidden(p, root)
                 and not p.is_relative_to(out_dir)]
    elif kind == "list":
        files, root = _read_list(Path(spec))
    else:
        src = Path(os.path.abspath(spec))
        files, root = [src], src.parent
    if not files:
        raise AudioError(f"{spec}: no input files found (hidden files and other extensions are skipped)")
    jobs = [Job(src=path, rel=PurePosixPath(path.relative_to(root).with_suffix(suffix).as_posix()))
            for path in files]
    check_outputs(jobs, out_dir)
    return jobs


def check_outputs(jobs: list[Job], out_dir: Path) -> None:
    """AudioError unless every output is distinct, stays inside ``out_dir`` (no ``..``, no
    absolute part, no symlinked folder leading out) and differs from its input."""
    seen: dict[PurePosixPath, Path] = {}
    base = out_dir.resolve()
    resolved_parents: dict[PurePosixPath, Path] = {}
    for job in jobs:
        if job.rel.is_absolute() or ".." in job.rel.parts or not job.rel.parts:
            raise AudioError(f"{job.src}: its output path {str(job.rel)!r} would leave the output folder "
                             f"{out_dir}; refusing ('..' and absolute paths are not allowed)")
        if job.rel in seen:
            raise AudioError(f"{job.dest(out_dir)}: two inputs would write this file ({seen[job.rel].name} and "
                             f"{job.src.name}); rename one")
        seen[job.rel] = job.src
        parent = job.rel.parent
        if parent not in resolved_parents:
            resolved_parents[parent] = (out_dir / parent).resolve()
        real_parent = resolved_parents[parent]
        if not real_parent.is_relative_to(base):
            raise AudioError(f"{job.dest(out_dir)}: would be written to {real_parent} outside the output "
                             f"folder {base} (through a symlink); refusing, remove the link")
        dest = job.dest(out_dir)
        if dest.exists() and job.src.exists() and os.path.samefile(dest, job.src):
            raise AudioError(f"{dest}: the output would replace its own input; choose another output folder")


def header_seconds(path: Path) -> float | None:
    """Duration in seconds read from an audio file's header (no decoding); None when unknown."""
    if special_file_kind(path) is not None:
        return None  # opening a FIFO blocks; the reader refuses it with a clear message
    try:
        info = sf.info(str(path))
    except (OSError, RuntimeError, TypeError, ValueError):  # unreadable: the worker reports the real error
        return None
    return info.frames / info.samplerate if info.samplerate > 0 and info.frames >= 0 else None


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _walk(root: Path, out_dir: Path, accept: Callable[[Path], bool]) -> list[Path]:
    """Accepted non-hidden files under ``root`` (symlinked folders are not followed, which also
    rules out loops), without the output folder's subtree."""
    files = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d != out_dir)
        files += [here / name for name in names
                  if not name.startswith(".") and (here / name).is_file() and accept(here / name)]
    return sorted(files)


def _glob(pattern: str, root: Path) -> list[Path]:
    """Absolute paths matching ``pattern`` (sorted). A pattern with ``**`` is matched over a walk
    of ``root`` that does not follow symlinked folders (``glob`` follows them, so a link loop gives
    the same files under ever deeper names, and two loops never end)."""
    if RECURSIVE_WILDCARD not in pattern:
        return [Path(os.path.abspath(p)) for p in sorted(globlib.glob(pattern, recursive=True))]
    parts = Path(os.path.abspath(pattern)).relative_to(root).parts
    matches = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        here = Path(folder)
        for name in dirs + names:  # symlinked folders are in ``dirs`` but not descended into
            relative = (here / name).relative_to(root).parts
            if _match_parts(parts, relative):
                matches.append(here / name)
    return sorted(matches)


def _match_parts(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Glob matching by path components: ``**`` matches any number of them (zero included).
    Memoised over (pattern, path) positions, so many ``**`` cost len(pattern) x len(parts)."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(parts)
        if pattern[i] == RECURSIVE_WILDCARD:
            return match(i + 1, j) or (j < len(parts) and match(i, j + 1))
        return j < len(parts) and _component(pattern[i]).match(parts[j]) is not None and match(i + 1, j + 1)

    return match(0, 0)


@functools.lru_cache(maxsize=256)
def _component(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def _glob_root(pattern: str) -> Path:
    """The folder before the first wildcard of ``pattern`` (absolute)."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(os.path.abspath(Path(*fixed) if fixed else Path(".")))


def _read_list(path: Path) -> tuple[list[Path], Path]:
    """Entries of a list file (relative ones are relative to its folder) and their common folder."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise AudioError(f"{path}: cannot read the list file ({err}); one path per line, UTF-8") from None
    entries = [line.strip() for line in lines]
    files = [Path(os.path.abspath(path.parent / entry)) for entry in entries
             if entry and not entry.startswith(LIST_COMMENT)]
    if not files:
        raise AudioError(f"{path}: the list file names no files; write one input path per line")
    root = Path(os.path.commonpath([str(p.parent) for p in files]))
    return sorted(set(files)), root
