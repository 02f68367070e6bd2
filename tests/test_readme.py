"""README.md's commands run as written on a fresh clone (see tests/cli_examples.py for the sandbox
and the `# placeholder` / `# network` markers), so the README cannot drift from the code.

The blocks without training run in the default suite; every block, training the tiny configs, runs
under the slow marker.
"""

from __future__ import annotations

import re

import pytest
from cli_examples import REPO, check_parses, readme_blocks, run_example, sandbox

BLOCKS = readme_blocks()


def test_readme_has_runnable_blocks_and_every_command_parses() -> None:
    commands = [example for block in BLOCKS for example in block]
    assert len(BLOCKS) >= 8 and len(commands) >= 30
    for example in commands:
        check_parses(example)
        script = re.match(r"^bash (\S+\.sh)\b", example.command)
        if script:
            assert (REPO / script.group(1)).is_file(), f"{example.origin}: no {script.group(1)}"
        assert "../shared" not in example.command, f"{example.origin}: a fresh clone has no ../shared"


def _run_blocks(blocks, tmp_path, monkeypatch) -> int:
    root = tmp_path / "clone"
    env = sandbox(root)
    ran = 0
    for block in blocks:
        for example in block:
            if not example.skipped:
                run_example(example, root, env, monkeypatch)
                ran += 1
    return ran


def test_readme_commands_without_training_run_as_written(tmp_path, monkeypatch) -> None:
    short = [block for block in BLOCKS if not any(example.trains and not example.skipped for example in block)]
    assert _run_blocks(short, tmp_path, monkeypatch) >= 20
    clone = tmp_path / "clone"
    for made in ("out.wav", "out.png", "SF1.json", "z.npy", "trav/traverse.png", "audit/audit.csv", "to_LS78.wav",
                 "seven.png", "digit_uci.png", "report/summary.json", "converted/SF1_200001.wav", "wavs"):
        assert (clone / made).exists(), made


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path, monkeypatch) -> None:
    assert _run_blocks(BLOCKS, tmp_path, monkeypatch) >= 28
    clone = tmp_path / "clone"
    for made in ("runs/vocoder-tiny/export", "runs/cyclegan-tiny/export", "runs/cyclegan-tiny/step2",
                 "models/sf1_tm1_tiny", "tiny.wav", "copy.wav"):
        assert (clone / made).exists(), made
