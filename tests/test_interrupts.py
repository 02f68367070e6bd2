"""Stop requests held off while temporaries are being registered (voicegen.interrupts): the order of
raising, and a SIGTERM landing inside ``mkstemp`` (the file exists, its removal not yet armed) that
leaves no temporary behind."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest

from voicegen.audio.writer import AudioWriter
from voicegen.cli_common import Terminated
from voicegen.fileutil import atomic_path
from voicegen.interrupts import held, request_stop


def test_a_stop_outside_a_held_block_raises_at_once() -> None:
    with pytest.raises(Terminated):
        request_stop(Terminated)


def test_a_stop_inside_held_blocks_is_raised_when_the_outermost_ends() -> None:
    reached = []
    with pytest.raises(Terminated):
        with held():
            with held():
                request_stop(Terminated)
                reached.append("inner")
            reached.append("outer")  # still held: the inner block's end does not raise
    assert reached == ["inner", "outer"]
    with held():  # nothing pending afterwards
        pass


def test_a_stop_wins_over_the_error_it_interrupted() -> None:
    with pytest.raises(Terminated):
        with held():
            request_stop(Terminated)
            raise ValueError("the block's own error")


def signal_inside_mkstemp(monkeypatch) -> list[str]:
    """Make tempfile.mkstemp run the SIGTERM handler right after it created its file; return the names."""
    real = tempfile.mkstemp
    made: list[str] = []

    def mkstemp_then_signal(*args, **kwargs):
        fd, name = real(*args, **kwargs)  # the file exists now ...
        made.append(name)
        request_stop(Terminated)  # ... and the signal handler runs before mkstemp returns
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_then_signal)
    return made


def test_a_sigterm_inside_mkstemp_of_an_atomic_write_leaves_nothing(monkeypatch, tmp_path) -> None:
    made = signal_inside_mkstemp(monkeypatch)
    reached = []
    with pytest.raises(Terminated):
        with atomic_path(tmp_path / "out.txt") as tmp:
            reached.append(tmp)
    assert made and not reached and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("guard", [False, True])
def test_a_sigterm_inside_mkstemp_leaves_no_temporary(monkeypatch, tmp_path, guard) -> None:
    made = signal_inside_mkstemp(monkeypatch)
    source = tmp_path / "in.wav"
    with pytest.raises(Terminated):
        with AudioWriter(tmp_path / "out.wav", 16000, guard=source if guard else None) as out:
            out.write(np.zeros(160, dtype=np.float32))
    assert made and sorted(p.name for p in tmp_path.iterdir()) == []
