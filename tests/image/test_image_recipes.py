"""The image recipes' run.sh scripts: stage selection, and every command they run parses with the CLI.

The scripts run with VOICEGEN/PYTHON set to ``echo``, so this checks their wiring in a fraction of a
second; the commands themselves are exercised end to end in test_image_cli.py.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from voicegen.cli import cli

REPO = Path(__file__).resolve().parents[2]


def _data_dir(root: Path) -> Path:
    for name in ("images/mnist/mnist_t10k_dev.npz", "images/uci_digits/uci_digits_8x8.npz"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return root


def run_recipe(recipe: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "VOICEGEN": "echo voicegen", "PYTHON": "echo python"}
    return subprocess.run(["bash", str(REPO / "recipes" / recipe / "run.sh"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def parse_with_cli(line: str) -> click.Context:
    """Resolve ``voicegen ...`` down to its command and parse the options (raises on a bad option)."""
    args = shlex.split(line)[1:]
    group: click.Command = cli
    ctx = click.Context(cli, info_name="voicegen")
    while isinstance(group, click.Group):
        name, args = args[0], args[1:]
        group = group.get_command(ctx, name)
        assert group is not None, f"unknown command {name!r} in: {line}"
        ctx = click.Context(group, info_name=name, parent=ctx)
    return group.make_context(ctx.info_name, args, parent=ctx.parent)


def test_mnist_recipe_runs_its_stages_with_valid_commands(tmp_path) -> None:
    data = _data_dir(tmp_path / "data")
    out = run_recipe("mnist", "--data-dir", str(data), "--exp-dir", str(tmp_path / "exp"),
                     "--train-set", "trainer.max_steps=2", "--eval-set", "samples=10")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line for line in lines if line.startswith("stage")] == [
        "stage 1: digit classifier", "stage 2: VAE and beta-VAE", "stage 3: DCGAN", "stage 4: conditional GAN",
        "stage 5: figures on the held-out test images"]
    commands = [line for line in lines if line.startswith("voicegen ")]
    trained = [shlex.split(c)[3] for c in commands if c.startswith("voicegen image train")]
    assert trained == ["classifier", "vae", "vae", "gan", "cgan"]
    mnist = data / "images" / "mnist" / "mnist_t10k_dev.npz"
    for command in commands:
        ctx = parse_with_cli(command)
        if "train" in command:
            assert f"data.train.path={mnist}" in ctx.params["overrides"] and "trainer.max_steps=2" in ctx.params[
                "overrides"]
            assert Path(ctx.params["config_path"]).is_file()
        if command.startswith("voicegen image eval"):
            assert f"classifier={tmp_path / 'exp' / 'classifier' / 'export'}" in ctx.params["overrides"]
            assert "samples=10" in ctx.params["overrides"]
    only = run_recipe("mnist", "--data-dir", str(data), "--stage", "3", "--stop-stage", "4")
    assert [line for line in only.stdout.splitlines() if line.startswith("stage")] == [
        "stage 3: DCGAN", "stage 4: conditional GAN"]


def test_digits_recipe_skips_the_classifier_when_given_one(tmp_path) -> None:
    data = _data_dir(tmp_path / "data")
    out = run_recipe("digits_cyclegan", "--data-dir", str(data), "--exp-dir", str(tmp_path / "exp"),
                     "--classifier", "voicegen/assets/models/image/mnist_classifier")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line for line in lines if line.startswith("stage")] == [
        "stage 2: CycleGAN mnist <-> uci", "stage 3: figures on held-out digits"]
    commands = [line for line in lines if line.startswith("voicegen ")]
    assert len(commands) == 2
    for command in commands:
        assert "classifier=voicegen/assets/models/image/mnist_classifier" in parse_with_cli(command).params["overrides"]
    assert any(line.startswith("python recipes/digits_cyclegan/local/translation_grid.py") for line in lines)


@pytest.mark.parametrize("recipe", ["mnist", "digits_cyclegan"])
def test_recipes_refuse_unknown_options_and_missing_data(recipe, tmp_path) -> None:
    bad = run_recipe(recipe, "--stages", "1")
    assert bad.returncode == 2 and "unknown option --stages" in bad.stderr
    missing = run_recipe(recipe, "--data-dir", str(tmp_path))
    assert missing.returncode == 1 and "not found; pass --data-dir" in missing.stderr
