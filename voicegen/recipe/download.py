"""Stage 0 of a recipe: fetch a corpus' files, verify their checksums, extract them.

For each :class:`~voicegen.recipe.manifest.DownloadItem`, :func:`fetch` into an output folder:

1. skip it when ``.voicegen-downloads/<name>.json`` records an earlier verified fetch whose
   extracted entries are all still there;
2. download into ``archives/<file>.part`` with a progress bar, resuming a partial ``.part`` with an
   HTTP ``Range`` request (a server that ignores it sends the whole file, which starts over);
3. check the size (when published) and the sha256/md5: a mismatch removes the file and raises one
   :class:`DownloadError` line; without a published checksum the computed sha256 is reported and
   a warning says nothing was verified;
4. extract a zip/tar into a temporary folder beside the output, refusing members that would land
   outside it, then move each top-level entry into place with ``os.replace`` (an existing one is
   replaced only after the new one is complete); the archive is removed unless ``keep_archive``.

Only the standard library (urllib, hashlib, zipfile, tarfile) and tqdm are used; no torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voicegen.errors import VoicegenError
from voicegen.fileutil import atomic_write_text, replace_dir
from voicegen.recipe.manifest import DownloadItem

ARCHIVES_DIR = "archives"
RECORDS_DIR = ".voicegen-downloads"
PART_SUFFIX = ".part"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60.0
USER_AGENT = "voicegen-recipe-download"
HTTP_PARTIAL = 206
HTTP_RANGE_NOT_SATISFIABLE = 416

Log = Callable[[str], None]


class DownloadError(VoicegenError):
    """A file cannot be fetched, does not match its published checksum, or cannot be extracted."""


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did: ``status`` is ``skipped`` or ``fetched``; ``paths`` are the outputs."""

    name: str
    status: str
    sha256: str
    verified: bool
    paths: tuple[Path, ...]


def fetch_all(items: Iterable[DownloadItem], out_dir: str | os.PathLike, *, progress: bool = True,
              keep_archives: bool = False, log: Log = print) -> list[FetchResult]:
    """:func:`fetch` every item in order (stops at the first error)."""
    return [fetch(item, out_dir, progress=progress, keep_archive=keep_archives, log=log) for item in items]


def fetch(item: DownloadItem, out_dir: str | os.PathLike, *, progress: bool = True, keep_archive: bool = False,
          log: Log = print) -> FetchResult:
    """Download, verify and extract ``item`` into ``out_dir`` (see the module docstring)."""
    out_dir = Path(out_dir)
    record = out_dir / RECORDS_DIR / f"{item.name}.json"
    done = _read_record(record, item, out_dir)
    if done is not None:
        log(f"{item.name}: already in {out_dir} (sha256 {done['sha256'][:12]}..., "
            f"{'verified' if done['verified'] else 'not verified: no published checksum'}); skipped")
        paths = tuple(out_dir / entry for entry in done["entries"])
        return FetchResult(item.name, "skipped", done["sha256"], done["verified"], paths)

    archive = out_dir / ARCHIVES_DIR / item.file_name
    archive.parent.mkdir(parents=True, exist_ok=True)
    if archive.is_file():
        log(f"{item.name}: found {archive}; checking it")
        try:
            sha256, md5 = verify_file(archive, item, log=log)
        except DownloadError as err:
            log(f"{item.name}: {err}; downloading it again")
            sha256, md5 = _download_and_verify(item, archive, progress, log)
    else:
        sha256, md5 = _download_and_verify(item, archive, progress, log)

    kind = item.archive_kind
    if kind == "none":
        target = out_dir / item.file_name
        os.replace(archive, target)
        entries = [item.file_name]
    else:
        log(f"{item.name}: extracting {archive.name} into {out_dir}")
        entries = extract(archive, out_dir, kind)
        if not keep_archive:
            archive.unlink()
    atomic_write_text(record, json.dumps({
        "name": item.name, "url": item.url, "file": item.file_name, "sha256": sha256, "md5": md5,
        "verified": item.verified, "entries": entries,
    }, indent=2) + "\n")
    _remove_empty(out_dir / ARCHIVES_DIR)
    log(f"{item.name}: ready in {out_dir} ({', '.join(entries)})")
    return FetchResult(item.name, "fetched", sha256, item.verified, tuple(out_dir / e for e in entries))


def verify_file(path: Path, item: DownloadItem, *, log: Log = print) -> tuple[str, str]:
    """(sha256, md5) of ``path`` after checking size and published checksum; DownloadError on a mismatch.

    Without a published checksum the sha256 is logged with a warning and returned unverified.
    """
    size = path.stat().st_size
    if item.size is not None and size != item.size:
        raise DownloadError(f"{item.name}: {item.file_name} has {size} bytes but the manifest says {item.size}")
    sha256, md5 = file_digests(path)
    for algo, expected, got in (("sha256", item.sha256, sha256), ("md5", item.md5, md5)):
        if expected is not None and got != expected:
            raise DownloadError(f"{item.name}: {algo} mismatch for {item.file_name} (expected {expected}, got {got})")
    if not item.verified:
        log(f"warning: {item.name}: no published checksum for {item.file_name}; NOT verified. "
            f"Its sha256 is {sha256} (record it in the manifest)")
    else:
        log(f"{item.name}: checksum OK ({'sha256' if item.sha256 else 'md5'})")
    return sha256, md5


def file_digests(path: Path) -> tuple[str, str]:
    """(sha256, md5) hex digests of a file, read in 1 MiB chunks."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()


def _download_and_verify(item: DownloadItem, archive: Path, progress: bool, log: Log) -> tuple[str, str]:
    """Download into ``archive.part`` (resuming), verify, rename to ``archive``; remove a bad file."""
    part = archive.with_name(archive.name + PART_SUFFIX)
    download(item, part, progress=progress, log=log)
    try:
        digests = verify_file(part, item, log=log)
    except DownloadError as err:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{err}; the file was removed: run again to download it afresh, or check "
                            f"the manifest's url and checksum") from None
    os.replace(part, archive)
    return digests


def download(item: DownloadItem, part: Path, *, progress: bool = True, log: Log = print) -> None:
    """Append the rest of ``item.url`` to ``part`` (all of it when ``part`` is missing or the server
    ignores ``Range``). DownloadError with the reason and what to do when the server cannot be reached."""
    start = part.stat().st_size if part.is_file() else 0
    if item.size is not None and start >= item.size > 0:
        return  # complete already (a bigger file fails the size check next)
    headers = {"User-Agent": USER_AGENT}
    if start:
        headers["Range"] = f"bytes={start}-"
        log(f"{item.name}: resuming {part.name} from byte {start}")
    else:
        log(f"{item.name}: downloading {item.url}")
    request = urllib.request.Request(item.url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)  # noqa: S310 (http/https/file only)
    except urllib.error.HTTPError as err:
        if err.code == HTTP_RANGE_NOT_SATISFIABLE and start:
            return  # nothing left to fetch: the .part is complete (the checksum decides)
        raise DownloadError(f"{item.name}: {item.url} answered HTTP {err.code} {err.reason}; check the url "
                            f"or fetch the file by hand into {part.parent}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise DownloadError(f"{item.name}: cannot download {item.url} ({reason}); check the network, or fetch "
                            f"the file by hand into {part.parent} and run again") from None
    with response:
        resumed = start > 0 and getattr(response, "status", None) == HTTP_PARTIAL
        if start and not resumed:
            log(f"{item.name}: the server ignored the resume request; starting over")
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else item.size
        _copy_stream(response, part, "ab" if resumed else "wb", start, total, item.name, progress)


def _copy_stream(response, part: Path, mode: str, start: int, total: int | None, name: str,
                 progress: bool) -> None:
    from voicegen.progress import progress_bar

    with open(part, mode) as handle, progress_bar(total=total, initial=start, unit="B", desc=name,
                                                 enabled=progress, unit_scale=True, unit_divisor=1024,
                                                 leave=False) as bar:
        try:
            while chunk := response.read(CHUNK_BYTES):
                handle.write(chunk)
                bar.update(len(chunk))
        except OSError as err:
            raise DownloadError(f"{name}: the download stopped ({err}); run again to resume from "
                                f"{part.stat().st_size if part.exists() else 0} bytes") from None


def extract(archive: Path, out_dir: Path, kind: str) -> list[str]:
    """Unpack a zip/tar into ``out_dir``; returns the top-level names. Members outside are refused."""
    tmp = out_dir / f".extract-{archive.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        if kind == "zip":
            _extract_zip(archive, tmp)
        elif kind == "tar":
            _extract_tar(archive, tmp)
        else:
            raise DownloadError(f"{archive}: unknown archive kind {kind!r}; use zip, tar or none")
        entries = sorted(p.name for p in tmp.iterdir())
        if not entries:
            raise DownloadError(f"{archive}: the archive is empty; check the url")
        for entry in entries:
            source, dest = tmp / entry, out_dir / entry
            if source.is_dir() and dest.is_dir():
                replace_dir(source, dest)
            else:
                if dest.is_dir():
                    shutil.rmtree(dest)
                os.replace(source, dest)
        return entries
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _safe_member(name: str, archive: Path) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0].endswith(":")):
        raise DownloadError(f"{archive}: refusing member {name!r}, which would land outside the output folder")


def _extract_zip(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                _safe_member(name, archive)
            zf.extractall(dest)
    except zipfile.BadZipFile as err:
        raise DownloadError(f"{archive}: not a valid zip file ({err}); delete it and download again") from None


def _extract_tar(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            for member in members:
                _safe_member(member.name, archive)
            if hasattr(tarfile, "data_filter"):
                tf.extractall(dest, members=members, filter="data")
            else:  # Python without extraction filters: links were still refused above by name only
                tf.extractall(dest, members=[m for m in members if m.isfile() or m.isdir()])
    except tarfile.TarError as err:
        raise DownloadError(f"{archive}: cannot extract ({err}); delete it and download again") from None


def _read_record(record: Path, item: DownloadItem, out_dir: Path) -> dict | None:
    """The record of an earlier complete fetch of ``item``, if it still holds (else None).

    It holds when its extracted entries all exist and it is the same file: the published checksum
    matches the one recorded (whichever url it came from: a mirror counts), or, without a published
    checksum, it came from the same url.
    """
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        entries = list(data["entries"])
        sha256 = str(data["sha256"])
    except (ValueError, KeyError, TypeError):
        return None
    if item.sha256 is not None:
        same = sha256 == item.sha256
    elif item.md5 is not None:
        same = data.get("md5") == item.md5
    else:
        same = data.get("url") == item.url
    if not same:
        return None  # another file than the manifest names now: fetch again
    if not entries or not all((out_dir / entry).exists() for entry in entries):
        return None
    return {"sha256": sha256, "verified": bool(data.get("verified")), "entries": entries}


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
