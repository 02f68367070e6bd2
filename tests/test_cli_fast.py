"""Quick answers: --help and the usual mistakes (a missing file, an unknown speaker or model, an
existing output) are reported before torch is imported or a model loaded.

Each case runs the real command in one fresh process (no model is loaded in any of them) and
records whether torch was imported by the time it answered; wall-clock times are measured by
benchmarks/startup.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SF1 = REPO / "samples" / "audio" / "SF1_200001.wav"

# (command line, the start of the expected output, or None for --help / a listing)
CASES = [
    (["--help"], None),
    (["convert", "--help"], None),
    (["train", "--help"], None),
    (["image", "train", "vae", "--help"], None),
    (["models"], None),
    (["info", "missing.wav"], "Error: missing.wav: file not found"),
    (["convert", "--src", "missing.wav", "--target", "TM1"], "Error: missing.wav: not found"),
    (["convert", "--src", str(SF1), "--target", "XX"], "Error: unknown target speaker 'XX'"),
    (["convert", "--src", str(SF1), "--target", "TM1", "--out", "exists.wav"],
     "Error: exists.wav: already exists; pass --overwrite to replace it"),
    (["convert", "--src", str(SF1), "--target", "TM1", "--model", "nope"], "Error: nope: not found"),
    (["vocode", "missing.wav", "out.wav"], "Error: missing.wav: not found"),
    (["vocode", str(SF1), "exists.wav"], "Error: exists.wav: already exists; pass --overwrite"),
    (["features", "missing.wav", "--out", "m.npy"], "Error: missing.wav: not found"),
    (["features", str(SF1), "--out", "exists.npy"], "Error: exists.npy: already exists"),
    (["stats", "missing", "--out", "s.json"], "Error: missing: folder not found"),
    (["eval", "--converted", "missing.wav", "--reference", str(SF1)], "Error: missing.wav: not found"),
    (["latent", "encode", str(SF1), "--out", "z.npy", "--model", "nope"], "Error: nope: not found"),
    (["latent", "encode", str(SF1), "--out", "exists.npy"], "Error: exists.npy: already exists"),
    (["audit", "missing", "--out", "a"], "Error: Invalid value for 'FOLDER'"),
    (["image", "sample", "--model", "nope", "--out", "s.png"], "Error: nope: no such model folder"),
    (["image", "translate", "missing.png", "o.png"], "Error: missing.png: not found"),
    (["bundle", "--converter", "vcc2016_sf1_tm1", "--link-vocoder", "vocoder16k", "--out", "full"],
     "Error: full: already exists; pass --overwrite"),
    (["train", "vocoder", "--config", "missing.yaml"], "Error: missing.yaml: config file not found"),
]

_PROBE = """
import json, sys
import click
from voicegen.cli import cli
results = []
for args in json.loads(sys.argv[1]):
    try:
        cli.main(args, prog_name="voicegen", standalone_mode=False)
    except click.ClickException as err:
        click.echo(f"Error: {err.format_message()}", err=True)
    except click.exceptions.Exit:
        pass
    results.append("torch" in sys.modules)
print("TORCH " + json.dumps(results))
"""


def test_help_and_errors_answer_before_torch_is_imported(tmp_path) -> None:
    (tmp_path / "exists.wav").write_bytes(b"keep")
    (tmp_path / "exists.npy").write_bytes(b"keep")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(REPO)}
    env.pop("VOICEGEN_MODELS", None)
    for args, expected in CASES:
        out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps([args])], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        torch_line = next(line for line in out.stdout.splitlines() if line.startswith("TORCH "))
        assert json.loads(torch_line[6:]) == [False], f"voicegen {' '.join(args)} imported torch:\n{out.stderr}"
        if expected is not None:
            assert out.stderr.strip().splitlines()[-1].startswith(expected), (args, out.stderr)
    assert (tmp_path / "exists.wav").read_bytes() == b"keep"
