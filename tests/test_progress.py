"""Progress reporting: a bar on a terminal, a line every 10 % in a log file, nothing when disabled."""

from __future__ import annotations

import io

from voicegen import progress
from voicegen.progress import LineProgress, progress_bar


def test_a_log_file_gets_a_line_every_ten_percent() -> None:
    out = io.StringIO()
    for _ in LineProgress(range(20), desc="speaker stats", unit="file", stream=out):
        pass
    lines = out.getvalue().splitlines()
    assert lines == [f"speaker stats: {p} % ({p // 5}/20 files)" for p in range(10, 101, 10)]
    assert "\r" not in out.getvalue()


def test_few_items_give_one_line_each_and_bytes_read_as_megabytes() -> None:
    out = io.StringIO()
    with LineProgress(total=3, desc="audit", unit="file", stream=out) as bar:
        for _ in range(3):
            bar.update()
    assert out.getvalue().splitlines() == ["audit: 33 % (1/3 files)", "audit: 66 % (2/3 files)",
                                           "audit: 100 % (3/3 files)"]
    out = io.StringIO()
    bar = LineProgress(total=4_000_000, initial=1_000_000, desc="corpus.zip", unit="B", stream=out)
    bar.update(3_000_000)
    assert out.getvalue() == "corpus.zip: 100 % (4.0/4.0 MB)\n"


def test_progress_bar_picks_lines_off_a_terminal_and_nothing_when_disabled(monkeypatch, capsys) -> None:
    monkeypatch.setattr(progress, "on_terminal", lambda stream=None: False)
    assert list(progress_bar([1, 2], desc="x", unit="file")) == [1, 2]
    assert capsys.readouterr().err.splitlines()[-1] == "x: 100 % (2/2 files)"
    assert list(progress_bar([1, 2], desc="x", enabled=False)) == [1, 2]
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "on_terminal", lambda stream=None: True)
    bar = progress_bar([1], desc="x")
    assert type(bar).__name__ == "tqdm"
    bar.close()
