"""`voicegen export` makes the same artifact from a run's checkpoint as training's own export."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from voicegen.checkpoint import list_checkpoints, load_artifact
from voicegen.cli import cli
from voicegen.errors import ArtifactError
from voicegen.train.export import export_run


@pytest.mark.parametrize("kind", ["vocoder", "cyclegan"])
def test_export_of_last_checkpoint_equals_training_export(tiny_models, kind, tmp_path) -> None:
    run_dir = tiny_models.vocoder.parent if kind == "vocoder" else tiny_models.converter.parent
    out = export_run(kind, run_dir, out=tmp_path / "again")
    original, again = load_artifact(run_dir / "export"), load_artifact(out)
    assert again.kind == original.kind and again.mel == original.mel and again.speakers == original.speakers
    assert again.config == original.config
    if kind == "cyclegan":
        for name in original.speakers:
            for key in ("mel_mean", "mel_std", "log_f0_mean"):
                assert again.stats[name][key] == pytest.approx(original.stats[name][key], rel=1e-6)
    assert again.weights.keys() == original.weights.keys()
    for module, params in original.weights.items():
        for name, tensor in params.items():
            assert torch.equal(again.weights[module][name], tensor), f"{module}.{name}"


def test_export_cli_earlier_step_and_errors(tiny_models, tmp_path) -> None:
    run_dir = tiny_models.converter.parent
    first = list_checkpoints(run_dir)[0]
    step = int(first.stem.split("_")[1])
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "cyclegan", "--run-dir", str(run_dir), "--step", str(step),
                                 "--out", str(tmp_path / "early")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "early" / "artifact.json").read_text())["kind"] == "cyclegan"
    result = runner.invoke(cli, ["export", "cyclegan", "--run-dir", str(run_dir), "--step", "999",
                                 "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {run_dir}: no training checkpoint for step 999; "
                                     f"see {run_dir}/checkpoints/")
    with pytest.raises(ArtifactError, match="no config.yaml"):
        export_run("vocoder", tmp_path)
