"""Shared pieces of the hostile-input tests (issue 18): crafted files, an unwritable folder, a watchdog.

Helpers shared as plain functions live in ``hostile.py`` beside this file (pytest puts this folder
on ``sys.path``). Every test here must end in a clean one-line error or a success, within seconds. A regression
that makes a command hang (a FIFO opened, an alias bomb expanded) is stopped by the watchdog,
which turns the hang into a failing test instead of a stuck suite.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile import can_create_in

from voicegen.infer import bundles

HANG_SECONDS = 60


class Hang(Exception):
    """The watchdog fired: the code under test did not return within HANG_SECONDS."""


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Fail (instead of hanging) a test that blocks longer than HANG_SECONDS (main thread only)."""

    def fire(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def search_dirs(monkeypatch, tmp_path) -> Path:
    """Bundle search isolated from the developer's folders: $VOICEGEN_MODELS is the returned
    (created) folder; the user folder is empty; the package defaults stay the shipped ones."""
    env = tmp_path / "models"
    env.mkdir()
    monkeypatch.setenv(bundles.ENV_MODELS, str(env))
    monkeypatch.setenv(bundles.ENV_XDG_DATA_HOME, str(tmp_path / "xdg"))
    return env


@pytest.fixture
def fifo(tmp_path) -> Iterator[Path]:
    """A named pipe with no writer, named like audio (opening it would block forever)."""
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    yield path


@pytest.fixture
def unwritable(tmp_path) -> Iterator[Path]:
    """A folder this process cannot create files in: a tmp folder with mode 0o555, or, for root
    (which ignores modes), /sys/kernel where sysfs refuses new files; skipped when neither is."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if not can_create_in(folder):
            yield folder
        elif Path("/sys/kernel").is_dir() and not can_create_in(Path("/sys/kernel")):
            yield Path("/sys/kernel")
        else:
            pytest.skip("no unwritable folder available (root on a system without a read-only sysfs)")
    finally:
        folder.chmod(0o755)
