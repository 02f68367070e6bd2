"""Pieces every ``voicegen`` command shares: the --device option, quick argument checks, one-line output.

Only click and the standard library are imported here. The checks run before a command imports
torch or loads a model, so that a wrong path or an existing output is reported at once (see
``benchmarks/startup.py``) rather than after seconds of imports.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

DEVICES = ("auto", "cpu", "cuda")
"""--device choices; ``auto`` is CUDA when torch sees one, else the CPU."""
API_OVERWRITE_HINT = " (overwrite=True)"
"""The Python-API half of library messages such as "pass --overwrite (overwrite=True)"; the CLI drops it."""
_SPACES = re.compile(r"\s+")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise KeyboardInterrupt, so the same cleanup runs."""


def device_option(what: str = "the model"):
    """``--device auto|cpu|cuda`` (default auto) for a command that runs ``what``."""
    return click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
                        help=f"Where to run {what}: auto is CUDA when available, else the CPU.")


def resolve_device(spec: str):
    """The ``torch.device`` for a --device value (imports torch; ConfigError for CUDA without CUDA)."""
    from voicegen.train.device import resolve_device as resolve

    return resolve(spec)


def cli_message(message: str) -> str:
    """A library error message as the command line shows it: one line, without the Python-API hint."""
    return _SPACES.sub(" ", message.replace(API_OVERWRITE_HINT, "")).strip()


def refuse_existing(path: Path | None, overwrite: bool) -> None:
    """An ``Error:`` when the output ``path`` exists and --overwrite was not given."""
    if path is not None and path.exists() and not overwrite:
        raise click.ClickException(f"{path}: already exists; pass --overwrite to replace it")


def input_kind(spec: Path) -> str:
    """``file``, ``folder``, ``glob`` or ``list`` for an input argument; the one-line error when it
    is none of them (a missing path). Reads nothing but the file system's names."""
    from voicegen.errors import VoicegenError
    from voicegen.infer.batch.inputs import input_kind as kind

    try:
        return kind(spec)
    except VoicegenError as err:
        raise click.ClickException(cli_message(str(err))) from None


def require_folder(path: Path, what: str = "audio files") -> None:
    """An ``Error:`` naming ``path`` when it is not an existing folder."""
    if not path.is_dir():
        state = "is a file, not a folder" if path.exists() else "folder not found"
        raise click.ClickException(f"{path}: {state}; pass a folder of {what}")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the CLI: one ``Warning: ...`` line on stderr (no source line)."""
    click.echo(f"Warning: {cli_message(str(message))}", err=True)


@contextmanager
def one_line_warnings():
    """Show every Python warning raised inside as one ``Warning: ...`` line on stderr."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        yield
