"""Every `Example:` line of every --help names real commands and options (parsed against the CLI),
and the ones a fresh clone can run do run, in order, in a folder that looks like a fresh clone."""

from __future__ import annotations

import pytest
from cli_examples import all_commands, check_parses, help_examples, run_example, sandbox

HELPS = [(path, help_examples(path, command)) for path, command in all_commands()]


def test_every_help_has_examples_and_they_parse() -> None:
    for path, examples in HELPS:
        assert examples, f"{' '.join(path)} --help has no example lines"
        for example in examples:
            check_parses(example)


def test_the_parser_check_catches_drift() -> None:
    from cli_examples import Example

    for bad in ("voicegen convrt --src a.wav --target TM1", "voicegen convert --src a.wav --taget TM1",
                "voicegen vocode a.wav b.wav --device gpu", "voicegen convert --src a.wav"):
        with pytest.raises(AssertionError):
            check_parses(Example(command=bad, comment="", origin="test"))


@pytest.mark.slow
@pytest.mark.parametrize("path, examples", HELPS, ids=[" ".join(path) for path, _ in HELPS])
def test_help_examples_run_as_written(path, examples, tmp_path, monkeypatch) -> None:
    runnable = [example for example in examples if not example.skipped]
    if not runnable:
        pytest.skip("only placeholder / network examples")
    env = sandbox(tmp_path / "clone")
    for example in runnable:
        run_example(example, tmp_path / "clone", env, monkeypatch)
