"""What a recipe is: its ``recipe.yaml`` (summary, stages, data, configs, downloads) and discovery.

Every folder ``recipes/<name>/`` with a ``run.sh`` is a recipe. Its ``recipe.yaml`` describes it for
``voicegen recipe list`` and lists the files stage 0 downloads::

    summary: SF1 <-> TM1 (or any pair) voice conversion on VCC 2016
    stages: {0: download, 1: prepare, 2: statistics, 3: train, 4: convert, 5: evaluate}
    data: {name: VCC 2016, source: https://..., licence: ODC-By 1.0, size: 1.2 GB}
    configs: {cyclegan: [conf/cpu.yaml, conf/paper.yaml], vocoder: [...]}
    downloads:
      - name: training
        url: https://.../vcc2016_training.zip
        sha256: null                  # null: no published checksum (computed and shown, not verified)
        size: null                    # bytes, when published

A recipe without ``recipe.yaml`` is still listed from its ``run.sh`` header (second line: summary;
a ``# Stages: 1 ..., 2 ...`` line: stage numbers). Torch-free: ``voicegen recipe list`` imports this.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from voicegen.config import from_dict, load_yaml
from voicegen.errors import ConfigError

RECIPE_FILE = "recipe.yaml"
RUN_SCRIPT = "run.sh"
CONFIG_KINDS = ("vocoder", "cyclegan", "vae", "image")
"""Config schemas a recipe's ``configs`` may name (``image`` confs belong to ``voicegen image``)."""
ExtractKind = Literal["auto", "zip", "tar", "none"]
SHA256_HEX = 64
MD5_HEX = 32
_HEX = re.compile(r"^[0-9a-f]+$")
_STAGES_LINE = re.compile(r"^#\s*Stages:\s*(.*)$")
_STAGE_NUMBER = re.compile(r"(?:^|,)\s*(\d+)\s")


@dataclass(frozen=True)
class DownloadItem:
    """One file of a corpus' official distribution.

    name: short id used by ``--only`` and in messages (``training``, ``bdl``).
    url: http(s):// or file:// address of the file as the distributor publishes it.
    sha256 / md5: the checksum as published (lower-case hex), or null when none is published: the
        downloader then prints the sha256 it computed and warns instead of verifying.
    checksum_source: where the checksum was published (for the README and reviewers).
    size: bytes, when known; a complete file of another size is refused before hashing.
    extract: ``auto`` (from the file name: .zip, .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz), ``zip``,
        ``tar`` or ``none`` (keep the file as downloaded).
    filename: name to save under [default: the URL's last path component].
    optional: only fetched with ``--with-optional`` or when named by ``--only``.
    """

    name: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    checksum_source: str = ""
    size: int | None = None
    extract: ExtractKind = "auto"
    filename: str = ""
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"download name must be a non-empty word without '/', got {self.name!r}")
        scheme = urlsplit(self.url).scheme
        if scheme not in ("http", "https", "file"):
            raise ValueError(f"download {self.name}: url must be http(s):// or file://, got {self.url!r}")
        for algo, digits in (("sha256", SHA256_HEX), ("md5", MD5_HEX)):
            value = getattr(self, algo)
            if value is not None and (len(value) != digits or not _HEX.match(value)):
                raise ValueError(f"download {self.name}: {algo} must be {digits} lower-case hex digits, got {value!r}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"download {self.name}: size must be >= 0 bytes, got {self.size}")
        name = self.file_name
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise ValueError(f"download {self.name}: cannot take a file name from {self.url!r}; set filename")

    @property
    def file_name(self) -> str:
        """The local file name: ``filename`` or the URL path's last component (query ignored)."""
        return self.filename or unquote(urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1])

    @property
    def verified(self) -> bool:
        """Whether a published checksum is known for this file."""
        return self.sha256 is not None or self.md5 is not None

    @property
    def archive_kind(self) -> Literal["zip", "tar", "none"]:
        """``zip``, ``tar`` or ``none``, resolving ``auto`` from the file name."""
        if self.extract != "auto":
            return self.extract
        lower = self.file_name.lower()
        if lower.endswith(".zip"):
            return "zip"
        if lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")):
            return "tar"
        return "none"


@dataclass(frozen=True)
class DataInfo:
    """The corpus: its name, official address, licence and the disk space it needs (free text)."""

    name: str
    source: str
    licence: str
    size: str


@dataclass(frozen=True)
class DownloadManifest:
    """A file holding only ``downloads:`` (``voicegen recipe download --manifest``: a mirror or a test)."""

    downloads: list[DownloadItem] = field(default_factory=list)


@dataclass(frozen=True)
class RecipeInfo:
    """A recipe as ``voicegen recipe list`` shows it; ``name``/``path`` come from its folder.

    stages: stage number -> what it does (``run.sh --stage N --stop-stage M`` runs a range).
    configs: config kind (``vocoder``, ``cyclegan``, ``vae``, ``image``) -> conf files relative to
        the recipe folder; every ``conf/*.yaml`` is listed under the schema that loads it.
    """

    summary: str
    stages: dict[int, str]
    data: DataInfo
    configs: dict[str, list[str]] = field(default_factory=dict)
    downloads: list[DownloadItem] = field(default_factory=list)
    name: str = ""
    path: str = ""
    described: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.configs) - set(CONFIG_KINDS))
        if unknown:
            raise ValueError(f"configs: unknown kind(s) {', '.join(unknown)}; use {', '.join(CONFIG_KINDS)}")
        names = [item.name for item in self.downloads]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"downloads: name(s) used twice: {', '.join(repeated)}")

    @property
    def stage_range(self) -> str:
        """``0-5`` for contiguous stages, else ``1,2,5``; ``-`` when none are known."""
        numbers = sorted(self.stages)
        if not numbers:
            return "-"
        if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
            return f"{numbers[0]}-{numbers[-1]}"
        return ",".join(str(n) for n in numbers)


def load_recipe(folder: str | os.PathLike) -> RecipeInfo:
    """The recipe in ``folder``: its ``recipe.yaml`` (strict), else what its ``run.sh`` header says.

    ConfigError for a folder without ``run.sh`` or a ``recipe.yaml`` that does not fit the schema.
    """
    folder = Path(folder)
    if not (folder / RUN_SCRIPT).is_file():
        raise ConfigError(f"{folder}: not a recipe (no {RUN_SCRIPT}); recipes live in recipes/<name>/ "
                          "of the source repository")
    meta = folder / RECIPE_FILE
    if not meta.is_file():
        return _from_run_script(folder)
    data = load_yaml(meta)
    for key in ("name", "path", "described"):
        if key in data:
            raise ConfigError(f"{meta}: '{key}' is filled in from the folder; remove it")
    info = from_dict(RecipeInfo, data, source=str(meta))
    return dataclasses.replace(info, name=folder.name, path=str(folder))


def load_manifest(path: str | os.PathLike) -> list[DownloadItem]:
    """The ``downloads:`` of a manifest file (a mirror's or a test's list of files)."""
    return from_dict(DownloadManifest, load_yaml(path), source=str(path)).downloads


def find_recipes(root: str | os.PathLike) -> list[RecipeInfo]:
    """Every recipe under ``root`` (folders holding ``run.sh``), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root}: recipes folder not found; recipes live in recipes/ of the source "
                          "repository (clone it, or pass --root)")
    return [load_recipe(p) for p in sorted(root.iterdir()) if p.is_dir() and (p / RUN_SCRIPT).is_file()]


def default_root() -> Path:
    """The checkout's ``recipes/`` (beside the package), else ``./recipes``; ConfigError when neither exists."""
    candidates = [Path(__file__).resolve().parents[2] / "recipes", Path.cwd() / "recipes"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"no recipes folder at {candidates[0]} or {candidates[1]}; recipes live in the source "
                      "repository (git clone it) and are not part of the installed package; or pass --root")


def find_recipe(name: str, root: str | os.PathLike | None = None) -> RecipeInfo:
    """The recipe called ``name`` under ``root`` [default: :func:`default_root`]; ConfigError listing the names."""
    root = Path(root) if root is not None else default_root()
    folder = root / name
    if not (folder / RUN_SCRIPT).is_file():
        known = ", ".join(r.name for r in find_recipes(root)) or "none"
        raise ConfigError(f"no recipe {name!r} in {root}; known recipes: {known}")
    return load_recipe(folder)


def _from_run_script(folder: Path) -> RecipeInfo:
    """A RecipeInfo from ``run.sh``'s header comments: summary from line 2, stage numbers from ``# Stages:``."""
    lines = (folder / RUN_SCRIPT).read_text(encoding="utf-8", errors="replace").splitlines()
    comments = [line for line in lines[1:40] if line.startswith("#")]
    summary = comments[0].lstrip("#").strip() if comments else ""
    stages: dict[int, str] = {}
    for i, line in enumerate(comments):
        match = _STAGES_LINE.match(line)
        if match:
            text = match.group(1)
            for follow in comments[i + 1:]:  # the list may wrap onto further comment lines
                if follow.lstrip("#").strip().startswith("--") or _STAGES_LINE.match(follow):
                    break
                text += " " + follow.lstrip("#").strip()
            stages = {int(n): "" for n in _STAGE_NUMBER.findall(text + " ")}
            break
    data = DataInfo(name="", source="", licence="", size="")
    return RecipeInfo(summary=summary, stages=stages, data=data, name=folder.name, path=str(folder),
                      described=False)
