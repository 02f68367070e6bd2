"""The batch manifest: an append-only JSONL file in the output folder, one record per line.

    with Manifest.open(out_dir) as manifest:          # exclusive lock: one batch per folder
        manifest.append({"status": "started", "output": "sub/a.wav", ...})
    states = file_states(read_records(out_dir / MANIFEST_NAME))   # output -> latest record

Records (``status``): ``run`` (a batch started; ``spec`` holds the settings the outputs depend
on), ``started`` (a file was handed to a worker: the output is this batch's to replace), ``done``
(written; ``seconds`` of audio, ``wall_seconds``, ``cpu_seconds``, ``rtf``, ``input_size``,
``input_mtime_ns``), ``failed`` (``error``, one line) and ``skipped`` (done by an earlier run,
left as it is).

Records are appended with one ``write`` of whole lines, so a ``kill -9`` loses at most the line
being written: a last line without its newline is ignored when reading and cut off before
appending; a record counts once its newline is written, and everything before it stays valid.
Outcome records are fsync'd (they survive a power cut too); ``started`` claims are not, since
they matter after a killed process, whose writes the OS keeps.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from voicegen.errors import ArtifactError, VoicegenError
from voicegen.pathcheck import not_regular_message, special_file_kind

MANIFEST_NAME = "voicegen_manifest.jsonl"
RUN, STARTED, DONE, FAILED, SKIPPED = "run", "started", "done", "failed", "skipped"
FILE_STATUSES = (STARTED, DONE, FAILED, SKIPPED)
NEWLINE = b"\n"


class Manifest:
    """The open manifest of an output folder, locked (``flock``) against a second batch.

    The lock goes with the process, so a killed batch never leaves the folder locked.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def open(cls, out_dir: str | os.PathLike) -> Manifest:
        """Open (creating ``out_dir`` and the file) for appending; cut off a torn last line.

        Raises VoicegenError when another batch holds the folder.
        """
        path = Path(out_dir) / MANIFEST_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
        except OSError as err:
            raise VoicegenError(f"{path}: cannot open the manifest ({err.strerror}); check the output "
                                "folder's permissions") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise VoicegenError(f"{path}: another batch is writing into {path.parent}; wait for it to "
                                "finish or choose another output folder") from None
        _cut_torn_tail(fd)
        return cls(path, fd)

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """Write ``record`` (plus ``time``, seconds since the epoch) as one line; fsync it unless
        ``sync`` is False (the line then survives a killed process, not a power cut)."""
        self.append_many([record], sync=sync)

    def append_many(self, records: list[dict[str, Any]], *, sync: bool = True) -> None:
        """Write ``records`` in one go, one line each, with a single fsync (unless ``sync`` is False)."""
        if not records:
            return
        now = round(time.time(), 3)
        data = b"".join(json.dumps({**record, "time": now}, ensure_ascii=False, allow_nan=False).encode("utf-8")
                        + NEWLINE for record in records)
        try:
            written = os.write(self._fd, data)
        except OSError as err:
            written, reason = -1, err.strerror
        else:
            reason = "disk full?"
        if written != len(data):  # leave no half record behind
            _cut_torn_tail(self._fd)
            raise VoicegenError(f"{self.path}: could not write to the manifest ({reason})")
        if sync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every complete record of a manifest (``[]`` when there is none); a last line without its
    newline (a write cut short by a kill) is ignored. ArtifactError for a damaged complete line."""
    path = Path(path)
    kind = special_file_kind(path)
    if kind is not None:
        raise ArtifactError(not_regular_message(path, kind))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise ArtifactError(f"{path}: cannot read the manifest ({err.strerror})") from None
    lines = data.split(NEWLINE)[:-1]  # the piece after the last newline is torn (or empty)
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            record = None
        if not isinstance(record, dict) or record.get("status") not in (RUN, *FILE_STATUSES):
            raise ArtifactError(f"{path}: line {number} is not a manifest record (edited or damaged?); "
                                "delete that line, or the whole file to start the batch over")
        records.append(record)
    return records


def file_states(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``output -> latest record`` over the file records; ``skipped`` records are passed over, so
    a file done long ago keeps its ``done`` record (and its timing)."""
    states: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["status"] in FILE_STATUSES and record["status"] != SKIPPED:
            states[str(record.get("output"))] = record
    return states


def run_spec(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``spec`` of the latest ``run`` record (None when there is none)."""
    runs = [record for record in records if record["status"] == RUN]
    return runs[-1].get("spec") if runs else None


def load_done(path: str | os.PathLike) -> set[str]:
    """Outputs (relative POSIX paths) of a manifest file whose latest record says ``done``."""
    return {output for output, record in file_states(read_records(path)).items() if record["status"] == DONE}


def _cut_torn_tail(fd: int) -> None:
    """Truncate the file after its last newline (drop a partial last line)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    block = 4096
    end = size
    while end > 0:
        start = max(0, end - block)
        chunk = os.pread(fd, end - start, start)
        cut = chunk.rfind(NEWLINE)
        if cut >= 0:
            keep = start + cut + 1
            break
        end = start
    else:
        keep = 0
    if keep != size:
        os.ftruncate(fd, keep)
        os.fsync(fd)
