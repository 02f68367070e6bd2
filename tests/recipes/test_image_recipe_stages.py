"""The image recipes' run.sh: stage selection, and every command they run parses with the CLI.

The scripts run with VOICEGEN/PYTHON set to ``echo``, so this checks their wiring in a fraction of a
second; stages 0-1 run for real in test_image_recipe_data.py, the training and evaluation commands
end to end in tests/image/test_image_cli.py.
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
SHIPPED_CLASSIFIER = "voicegen/assets/models/image/mnist_classifier"


def _prepared(exp: Path, *names: str) -> Path:
    """Stand-ins for the arrays stage 1 writes (echo runs write nothing)."""
    for name in names:
        (exp / "data").mkdir(parents=True, exist_ok=True)
        (exp / "data" / name).write_bytes(b"")
    return exp


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


def _stages(out: subprocess.CompletedProcess) -> list[str]:
    return [line for line in out.stdout.splitlines() if line.startswith("stage")]


def test_mnist_recipe_runs_its_stages_with_valid_commands(tmp_path) -> None:
    exp = _prepared(tmp_path / "exp", "mnist_t10k_dev.npz")
    out = run_recipe("mnist", "--download-dir", str(tmp_path / "dl"), "--exp-dir", str(exp),
                     "--train-set", "trainer.max_steps=2", "--eval-set", "samples=10")
    assert out.returncode == 0, out.stderr
    mnist = exp / "data" / "mnist_t10k_dev.npz"
    assert _stages(out) == [
        f"stage 0: download MNIST's test set into {tmp_path / 'dl'}", f"stage 1: prepare MNIST test images 0-7999 as {mnist}",
        "stage 2: digit classifier", "stage 3: train vae", "stage 3: train beta_vae", "stage 3: train gan",
        "stage 3: train cgan", f"stage 4: sample grids and latent traversals into {exp / 'figures'}",
        "stage 5: evaluate vae beta_vae gan cgan on the held-out test images"]
    commands = [line for line in out.stdout.splitlines() if line.startswith("voicegen ")]
    assert [" ".join(shlex.split(c)[1:3]) for c in commands] == [
        "recipe download", "recipe prepare-images"] + ["image train"] * 5 + ["image traverse"] * 2 + [
        "image sample"] * 3 + ["image eval"] * 4
    trained = [shlex.split(c)[3] for c in commands if c.startswith("voicegen image train")]
    assert trained == ["classifier", "vae", "vae", "gan", "cgan"]
    for command in commands:
        ctx = parse_with_cli(command)
        if "image train" in command:
            assert f"data.train.path={mnist}" in ctx.params["overrides"]
            assert "trainer.max_steps=2" in ctx.params["overrides"] and Path(ctx.params["config_path"]).is_file()
        if command.startswith("voicegen image eval"):
            assert f"classifier={exp / 'classifier' / 'export'}" in ctx.params["overrides"]
            assert "samples=10" in ctx.params["overrides"]
    assert shlex.split(commands[1])[3:] == ["mnist", str(tmp_path / "dl"), str(mnist), "--first", "8000", "--overwrite"]

    only = run_recipe("mnist", "--exp-dir", str(exp), "--stage", "3", "--stop-stage", "3", "--models", "cgan")
    assert _stages(only) == ["stage 3: train cgan"]
    bad = run_recipe("mnist", "--models", "vae dcgan")
    assert bad.returncode == 2 and "unknown model 'dcgan' in --models" in bad.stderr


def test_mnist_stage_1_reads_the_shared_layout(tmp_path) -> None:
    shared = tmp_path / "shared"
    (shared / "images" / "mnist").mkdir(parents=True)
    (shared / "images" / "mnist" / "mnist_t10k_dev.npz").write_bytes(b"")
    out = run_recipe("mnist", "--data-dir", str(shared), "--exp-dir", str(tmp_path / "exp"), "--stop-stage", "1")
    assert out.returncode == 0, out.stderr
    assert _stages(out)[0] == f"stage 0: skipped (--data-dir {shared} is a local copy)"
    command = [line for line in out.stdout.splitlines() if line.startswith("voicegen ")]
    assert len(command) == 1 and shlex.split(command[0])[4] == str(shared / "images" / "mnist" / "mnist_t10k_dev.npz")


def test_digits_recipe_skips_the_classifier_when_given_one(tmp_path) -> None:
    exp = _prepared(tmp_path / "exp", "mnist_t10k_dev.npz", "uci_digits_8x8.npz")
    out = run_recipe("digits_cyclegan", "--data-dir", str(tmp_path), "--exp-dir", str(exp),
                     "--classifier", SHIPPED_CLASSIFIER)
    assert out.returncode == 0, out.stderr
    assert _stages(out) == [
        f"stage 0: skipped (--data-dir {tmp_path} is a local copy)",
        "stage 1: prepare MNIST test images 0-7999 and the UCI test digits (optdigits.tes)",
        "stage 3: CycleGAN mnist <-> uci", "stage 4: a grid of translated held-out digits",
        "stage 5: evaluate on held-out digits"]
    commands = [line for line in out.stdout.splitlines() if line.startswith("voicegen ")]
    assert [shlex.split(c)[3] for c in commands[:2]] == ["mnist", "optdigits"]
    assert len(commands) == 4
    for command in commands:
        ctx = parse_with_cli(command)
        if command.startswith("voicegen image "):
            assert f"classifier={SHIPPED_CLASSIFIER}" in ctx.params["overrides"]
    assert any(line.startswith("python recipes/digits_cyclegan/local/translation_grid.py") for line in
               out.stdout.splitlines())
    own = run_recipe("digits_cyclegan", "--exp-dir", str(exp), "--stage", "2", "--stop-stage", "2")
    assert _stages(own) == ["stage 2: MNIST digit classifier"]


@pytest.mark.parametrize("recipe", ["mnist", "digits_cyclegan"])
def test_recipes_refuse_unknown_options_and_unprepared_data(recipe, tmp_path) -> None:
    bad = run_recipe(recipe, "--stages", "1")
    assert bad.returncode == 2 and "unknown option --stages" in bad.stderr
    missing = run_recipe(recipe, "--exp-dir", str(tmp_path), "--stage", "3")
    assert missing.returncode == 1 and "mnist_t10k_dev.npz not found; run stage 1 first" in missing.stderr
