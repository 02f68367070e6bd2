"""Checks on paths before any work: read regular files only, write where writing works, never over an input.

Every reader calls :func:`special_file_kind` (through its own error type) before it opens a file:
opening a FIFO with no writer blocks forever, and ``/dev/zero`` or ``/dev/urandom`` never end.
Every command calls :func:`check_writable` on its outputs, and :func:`check_not_input` for an
output that could be one of its inputs, before it loads a model or reads a sample: a read-only
folder or a ``--out`` naming the input is one line at once, with nothing half-done.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from voicegen.errors import OutputError

# What a path that is not a regular file or a folder is, by the file type bits of its mode.
_SPECIAL_KINDS: tuple[tuple[int, str], ...] = (
    (stat.S_IFIFO, "a named pipe (FIFO)"),
    (stat.S_IFCHR, "a character device"),
    (stat.S_IFBLK, "a block device"),
    (stat.S_IFSOCK, "a socket"),
)
# Prefix of the empty file :func:`check_writable` creates (and removes at once) to test a folder.
WRITE_PROBE_PREFIX = ".voicegen-write-test."


def special_file_kind(path: str | os.PathLike) -> str | None:
    """What ``path`` is when it exists but is neither a regular file nor a folder (e.g.
    ``"a named pipe (FIFO)"``, ``"a character device"``); None otherwise. Follows symlinks, never
    opens the path (opening a FIFO blocks)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for bits, kind in _SPECIAL_KINDS:
        if stat.S_IFMT(mode) == bits:
            return kind
    return "not a regular file"


def not_regular_message(path: str | os.PathLike, kind: str) -> str:
    """The one-line refusal of a special file ``path`` (``kind`` from :func:`special_file_kind`)."""
    return f"{path}: is {kind}, not a regular file; pass a regular file (copy the data into one first)"


def require_regular_file(path: Path, error: type[Exception], missing: str, *, suffix: str = "") -> None:
    """Raise ``error`` (one line naming ``path``) unless ``path`` is an existing regular file: the
    special-file refusal, or ``"{path}: {missing}"`` when it does not exist (or is a folder).
    ``suffix`` is appended to either message (e.g. where an include came from)."""
    kind = special_file_kind(path)
    if kind is not None:
        raise error(not_regular_message(path, kind) + suffix)
    if not path.is_file():
        raise error(f"{path}: {missing}{suffix}")


def check_writable(path: str | os.PathLike, *, what: str = "output") -> None:
    """OutputError (one line) unless the file or folder ``path`` could be created or replaced.

    The nearest existing folder at or above ``path``'s parent (``path`` itself when it is an
    existing folder) must accept a new entry: an empty file is created in it and removed, which
    also catches read-only mounts and ACLs that permission bits do not show. Nothing is left.
    """
    path = Path(path)
    kind = special_file_kind(path)
    if kind is not None:  # renaming a result onto /dev/null would replace the device node
        raise OutputError(f"{path}: is {kind}; an output must be a regular file or a new name")
    folder = path if path.is_dir() else path.parent
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():  # a dangling link where a folder should be created
            raise OutputError(f"{path}: cannot write the {what}: {folder} is a broken symlink; fix or remove it")
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write the {what}: {folder} is a file, not a folder; choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=WRITE_PROBE_PREFIX, dir=folder)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OutputError(f"{path}: cannot write the {what} into {folder} ({reason}); choose a folder you can "
                          "write to, or fix its permissions") from None
    os.close(fd)
    os.unlink(probe)


def check_not_input(out: str | os.PathLike, *inputs: str | os.PathLike | None) -> None:
    """OutputError when the output ``out`` is one of ``inputs`` (the same file, through a symlink
    or a hard link too): replacing an input destroys it even with ``--overwrite``."""
    for source in inputs:
        if source is not None and same_file(out, source):
            raise OutputError(f"{out}: is the input {source} itself; writing it would destroy the input "
                              "(even with --overwrite); choose another output name")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when both paths exist and are the same file (or folder)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False
