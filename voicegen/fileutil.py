"""Atomic file writing: nothing half-written is ever left at the destination.

Write into a temporary name in the destination's folder (same file system), then
``os.replace`` it into place; on any error (and on Ctrl-C or SIGTERM, which the CLI turns into
KeyboardInterrupt) the temporary file is removed. A temporary is named
``.<name>.<8 random chars>.tmp<suffix>`` and locked (``flock``) while its writer lives, so a
process killed with SIGKILL leaves an unlocked one, which the next write of the same ``<name>``
removes (:func:`remove_stale_temporaries`); a temporary folder of :func:`atomic_dir` carries its
host and process id, and the next :func:`atomic_dir` of the same name removes it once that
process is gone (:func:`remove_stale_dirs`). Failing to create a folder or a temporary is one
:class:`~voicegen.errors.OutputError` line.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from voicegen.errors import OutputError
from voicegen.interrupts import hold, release
from voicegen.pathcheck import special_file_kind

try:  # POSIX; elsewhere temporaries are not locked and stale ones are left for the user
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# Temporary folders of atomic_dir: ".<name>.tmp-<host>-<pid>-<12 hex>"; the host part keeps only safe characters.
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:32] or "host"
# Temporary names: ".<name>.<mkstemp's 8 random chars>.tmp<suffix>" (the batch engine matches them too).
TEMP_RANDOM = r"[A-Za-z0-9_]{8}"
# Errors of a write that fails because of where it goes (not because of what is written).
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The temporary name keeps ``path``'s suffix (or ``suffix``) so that libraries which pick a
    format from the extension (soundfile, matplotlib) still do. Parent folders are created;
    stale temporaries of ``path`` left by a killed process are removed first.
    """
    dest = Path(path)
    kind = special_file_kind(dest)
    if kind is not None:  # the rename would replace a device node or a FIFO (e.g. --out /dev/null)
        raise OutputError(f"{dest}: is {kind}; an output must be a regular file or a new name")
    make_parent(dest)
    remove_stale_temporaries(dest)
    with temporary_beside(dest, f".tmp{suffix if suffix is not None else dest.suffix}") as tmp:
        try:
            yield tmp
        except OSError as err:
            if err.errno not in WRITE_ERRNOS:
                raise
            raise OutputError(f"{dest}: cannot write ({err.strerror}); check free space and the folder's "
                              "permissions") from None
        try:
            if tmp.exists():
                # mkstemp creates 0o600; give the file the permissions a plain open() would.
                os.chmod(tmp, 0o666 & ~current_umask())
            os.replace(tmp, dest)
        except OSError as err:
            raise OutputError(f"{dest}: cannot write ({err.strerror or err}); check the folder's permissions "
                              "and free space") from None


def make_parent(dest: Path) -> None:
    """Create ``dest``'s parent folders; OutputError (one line) when that is not possible."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{dest}: cannot create its folder {dest.parent} ({err.strerror or err}); choose a "
                          "folder you can write to") from None


@contextmanager
def temporary_beside(dest: Path, suffix: str) -> Iterator[Path]:
    """A hidden, locked temporary file ``.<dest name>.<random>.<suffix>`` beside ``dest``, removed
    afterwards whatever happens (``suffix`` should start with ``.tmp``). A SIGTERM landing while the
    file is being made is raised once its removal is armed (:mod:`voicegen.interrupts`)."""
    holding = hold()
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    except OSError as err:
        release(holding)
        raise OutputError(f"{dest}: cannot write into {dest.parent} ({err.strerror or err}); choose a folder you "
                          "can write to, or fix its permissions") from None
    except BaseException:
        release(holding)
        raise
    tmp = Path(name)
    try:
        release(holding)  # a stop requested meanwhile is raised here, with the removal below armed
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until the writer is done (or dies)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
        os.close(fd)


def remove_stale_temporaries(dest: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of ``dest`` that no living writer holds (a killed run's); return them."""
    dest = Path(dest)
    if fcntl is None:
        return []
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.{TEMP_RANDOM}\.tmp(\.[^.]*)?$")
    try:
        entries = [entry for entry in os.scandir(dest.parent) if pattern.match(entry.name)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a writer holds it
        else:
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
        finally:
            os.close(fd)
    return removed


def current_umask() -> int:
    """The process umask, read from /proc where possible (no global set/reset race)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_dir(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Rename folder ``tmp`` onto ``dest``; an existing ``dest`` is removed only after the rename.

    Readers see either the old folder or the complete new one; if the rename fails the old one
    is put back.
    """
    tmp, dest = Path(tmp), Path(dest)
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:12]}"
    os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder name beside ``path`` (not yet created); when the block succeeds it
    replaces ``path`` (see :func:`replace_dir`), on any error it is removed. Parents are created."""
    dest = Path(path)
    make_parent(dest)
    remove_stale_dirs(dest)
    tmp = dest.parent / f".{dest.name}.tmp-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        yield tmp
        replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_dirs(dest: str | os.PathLike) -> list[Path]:
    """Remove the temporary folders of ``dest`` that :func:`atomic_dir` left in a process of this
    host that no longer runs (killed with SIGKILL); return them."""
    dest = Path(dest)
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.tmp-{re.escape(_HOST)}-(\d+)-[0-9a-f]{{12}}$")
    try:
        entries = [(entry, int(match[1])) for entry in os.scandir(dest.parent)
                   if (match := pattern.match(entry.name))]
    except OSError:
        return []
    removed = []
    for entry, pid in entries:
        if entry.is_dir(follow_symlinks=False) and not _alive(pid):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
