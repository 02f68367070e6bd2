"""Shell commands quoted in the docs (README.md's ```bash blocks, the `Example:` lines of --help):
found, parsed against the CLI, and run in a folder that looks like a fresh clone.

A command whose trailing comment starts with one of :data:`SKIP_MARKERS` is not run:
``# placeholder`` (names that stand for the reader's own files or cluster) and ``# network``
(needs a download). Every other line must run as written, in order, from a folder holding only
what a fresh clone has (``samples/``, ``recipes/``, ``Makefile``) and what earlier lines wrote; the
user's model folders are isolated (``$XDG_DATA_HOME`` in the sandbox, no ``$VOICEGEN_MODELS``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from click.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
SKIP_MARKERS = ("placeholder", "network")
FRESH_CLONE = ("samples", "recipes", "Makefile")
"""What the sandbox links from the checkout (the rest of a clone is the package, installed)."""
TRAINING = re.compile(r"^(voicegen (image )?train \S+ |bash recipes/)")
"""Commands that train (seconds with the tiny configs, yet too slow for the default suite)."""
_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


@dataclass(frozen=True)
class Example:
    """One command line: the shell text (continuations joined), its trailing comment, where it came from."""

    command: str
    comment: str
    origin: str

    @property
    def skipped(self) -> bool:
        return self.comment.lower().startswith(SKIP_MARKERS)

    @property
    def trains(self) -> bool:
        return bool(TRAINING.match(self.command))

    def voicegen_args(self) -> list[str] | None:
        """The arguments after ``voicegen`` for a plain voicegen command (no pipes or ``&&``), else None."""
        if any(op in self.command for op in ("&&", "||", "|", ";", ">", "<", "$(")):
            return None
        tokens = shlex.split(self.command)
        while tokens and _ENV_ASSIGNMENT.match(tokens[0]):
            tokens = tokens[1:]
        return tokens[1:] if tokens and tokens[0] == "voicegen" else None


def split_comment(line: str) -> tuple[str, str]:
    """``(command, comment)``: a ``#`` outside quotes that starts a word begins the comment."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip(), line[i + 1:].strip()
    return line.strip(), ""


def commands_in(lines: list[str], origin: str) -> list[Example]:
    """The commands of shell ``lines``: comment-only lines dropped, ``\\`` continuations joined."""
    found, pending = [], ""
    for raw in lines:
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        command, comment = split_comment(pending + line)
        pending = ""
        if command:
            found.append(Example(command=command, comment=comment, origin=origin))
    return found


def readme_blocks(path: Path = REPO / "README.md") -> list[list[Example]]:
    """The commands of each ```bash block of the README, block by block."""
    blocks, current = [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if current is None and line.strip() == "```bash":
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append(commands_in(current, f"README.md:{start}"))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def all_commands(command: click.Command = None, path: tuple[str, ...] = ("voicegen",)):
    """``(path, command)`` for the whole CLI tree, groups included."""
    from voicegen.cli import cli

    command = cli if command is None else command
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from all_commands(sub, (*path, name))


def help_examples(path: tuple[str, ...], command: click.Command) -> list[Example]:
    """The command lines under the ``Example:`` / ``Examples...:`` headings of a command's --help."""
    text = command.get_help(click.Context(command, info_name=" ".join(path)))
    lines, taking = [], False
    for line in text.splitlines():
        if re.match(r"^\s*Examples?\b.*:\s*$", line):
            taking = True
            continue
        if taking and not line.strip():
            taking = False
        if taking:
            lines.append(line)
    return commands_in(lines, f"{' '.join(path)} --help")


def check_parses(example: Example) -> None:
    """AssertionError unless ``example`` names an existing command with known options, valid choices
    and every required option (paths are not checked: the example may create them)."""
    from voicegen.cli import cli

    args = example.voicegen_args()
    if args is None:
        return
    command, name = cli, "voicegen"
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        sub = command.commands.get(args[0])
        assert sub is not None, f"{example.origin}: unknown command {' '.join([name, args[0]])!r} in {example.command!r}"
        command, name, args = sub, f"{name} {args[0]}", args[1:]
    saved = {}
    for param in command.params:
        if isinstance(param.type, click.Path):
            saved[param] = param.type.exists
            param.type.exists = False
    try:
        command.make_context(name, list(args))
    except click.exceptions.Exit:
        pass  # --help
    except click.ClickException as err:
        raise AssertionError(f"{example.origin}: {example.command!r}: {err.format_message()}") from None
    finally:
        for param, exists in saved.items():
            param.type.exists = exists


def sandbox(root: Path) -> dict[str, str]:
    """Make ``root`` look like a fresh clone; return the environment its commands run with."""
    root.mkdir(parents=True, exist_ok=True)
    for name in FRESH_CLONE:
        link = root / name
        if not link.exists():
            link.symlink_to(REPO / name)
    bin_dir = root / ".bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "voicegen"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m voicegen "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(root / ".xdg"), "VOICEGEN_SHARED_DATA": "/nonexistent",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(REPO),
           "VOICEGEN": str(shim), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    env.pop("VOICEGEN_MODELS", None)
    return env


def run_example(example: Example, root: Path, env: dict[str, str], monkeypatch) -> None:
    """Run one command in the sandbox ``root``: a plain voicegen command in this process (faster),
    anything else with bash; AssertionError with the output when it fails."""
    if example.command.startswith("make "):
        target = example.command.split()[1]
        makefile = (REPO / "Makefile").read_text()
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{example.origin}: no make target {target}"
        return  # installing the venv and running the suite from inside the suite is not the point
    if example.command.startswith("source "):
        return
    args = example.voicegen_args()
    if args is not None:
        monkeypatch.chdir(root)
        for key in ("XDG_DATA_HOME", "VOICEGEN_SHARED_DATA"):
            monkeypatch.setenv(key, env[key])
        monkeypatch.delenv("VOICEGEN_MODELS", raising=False)
        from voicegen.cli import cli

        result = CliRunner().invoke(cli, args, prog_name="voicegen")
        ok, output = result.exit_code == 0, result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            output += f"\n{type(result.exception).__name__}: {result.exception}"
    else:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", example.command], cwd=root, env=env,
                              capture_output=True, text=True, timeout=900)
        ok, output = done.returncode == 0, done.stdout + done.stderr
    assert ok, f"{example.origin}: `{example.command}` failed:\n{output[-3000:]}"
