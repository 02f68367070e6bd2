"""The CI recipe: vcc2016 runs every stage 0-5 end to end with the tiny configs on bundled clips.

Stage 0 downloads a miniature "official distribution" (two zips laid out as VCC 2016's, made from
samples/audio) from a local HTTP server and verifies its sha256; stage 1 prepares the speaker
pair from it; stages 2-5 train tiny models, convert, and score every system.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from voicegen.audio.contract import get_preset
from voicegen.config import load_yaml
from voicegen.eval.naturalness import dnsmos_available
from voicegen.infer.framebank import bank_frames

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "recipes" / "vcc2016" / "run.sh"
# Zip name -> {path in the zip: bundled clip}. Two training clips per speaker (validation holds
# one out); the second of each is a stand-in with a training-set name. Evaluation: one pair.
MINI_CORPUS = {
    "vcc2016_training.zip": {
        "vcc2016_training/SF1/100001.wav": "SF1_100001.wav", "vcc2016_training/SF1/100002.wav": "SF1_200001.wav",
        "vcc2016_training/TM1/100082.wav": "TM1_100082.wav", "vcc2016_training/TM1/100083.wav": "TM1_200001.wav",
    },
    "evaluation_all.zip": {
        "evaluation_all/SF1/200001.wav": "SF1_200001.wav", "evaluation_all/TM1/200001.wav": "TM1_200001.wav",
    },
}


def _mini_distribution(samples: Path, served: Path, server_url) -> str:
    """Write the zips into the served folder; return a manifest (YAML text) with their sha256."""
    lines = ["downloads:"]
    for zip_name, members in MINI_CORPUS.items():
        with zipfile.ZipFile(served / zip_name, "w") as zf:
            for arcname, clip in members.items():
                zf.write(samples / clip, arcname)
        digest = hashlib.sha256((served / zip_name).read_bytes()).hexdigest()
        lines.append(f"  - {{name: {zip_name.split('.')[0]}, url: '{server_url(zip_name)}', sha256: {digest}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_tiny_vcc2016_recipe_runs_all_stages(samples_dir, tmp_path, file_server) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(_mini_distribution(samples_dir, file_server.root, file_server.url))
    exp = tmp_path / "exp"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "VOICEGEN": str(bin_dir / "voicegen"), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    cmd = ["bash", str(RUN_SH), "--download-dir", str(tmp_path / "downloads"), "--manifest", str(manifest),
           "--exp-dir", str(exp), "--vocoder-conf", "recipes/vocoder16k/conf/tiny.yaml",
           "--cyclegan-conf", "recipes/vcc2016/conf/tiny.yaml", "--tune-vocoder", "4", "--postfilter", "vae16k"]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for stage in range(0, 6):
        assert f"stage {stage}:" in out.stdout
    # Stage 0: both zips fetched over HTTP, verified, extracted; the archives are gone.
    assert sorted(name for name, _ in file_server.requests) == ["evaluation_all.zip", "vcc2016_training.zip"]
    assert out.stdout.count("checksum OK (sha256)") == 2
    assert (tmp_path / "downloads" / "vcc2016_training" / "TM1" / "100083.wav").is_file()
    assert not (tmp_path / "downloads" / "archives").exists()
    # Stage 1: the non-parallel halves by sentence id, the parallel evaluation pair.
    for speaker, names in (("SF1", ["100001.wav", "100002.wav"]), ("TM1", ["100082.wav", "100083.wav"])):
        assert sorted(p.name for p in (exp / "data" / "train" / speaker).glob("*.wav")) == names
        assert [p.name for p in (exp / "data" / "dev" / speaker).glob("*.wav")] == ["200001.wav"]
    assert json.loads((exp / "stats" / "SF1.json").read_text())["num_files"] == 2
    # Stage 3 with --tune-vocoder: the vocoder fine-tuned on the CycleGAN's round trips of the four
    # training clips is what the bundle speaks through; copy-synthesis keeps the vocoder as trained.
    assert "fine-tune the vocoder 4 steps on the converter's outputs" in out.stdout
    assert sorted(p.name for p in (exp / "converter_mels" / "SF1").iterdir()) == ["100001.npy", "100002.npy"]
    sha = lambda folder: json.loads((folder / "artifact.json").read_text())["weights_sha256"]  # noqa: E731
    assert sha(exp / "bundle" / "vocoder") == sha(exp / "vocoder_tuned" / "export") != sha(exp / "vocoder" / "export")
    # --postfilter: the bundle runs the shipped VAE after the CycleGAN
    assert json.loads((exp / "bundle" / "artifact.json").read_text())["extra"]["postfilter"] == {
        "model": "vae16k", "speakers": {"SF1": "SF1", "TM1": "TM1"}}
    # the default --frame-bank true: every frame of both speakers' two training clips (the automatic stride
    # thins only folders over 16 384 frames)
    bank = json.loads((exp / "bundle" / "artifact.json").read_text())["extra"]["frame_bank"]
    assert (bank["k"], bank["context"], bank["mix"], sorted(bank["speakers"])) == (8, 1, 0.7, ["SF1", "TM1"])
    assert bank["speakers"] == {spk: len(bank_frames(exp / "data" / "train" / spk, get_preset("vc16k")))
                                for spk in ("SF1", "TM1")}
    assert (exp / "bundle" / "frames.safetensors").is_file()
    tuned = load_yaml(exp / "vocoder_tuned" / "config.yaml")
    assert tuned["data"]["input_mels"] == {str(exp / "data" / "train" / spk): [str(exp / "converter_mels" / spk)]
                                           for spk in ("SF1", "TM1")}
    assert tuned["data"]["input_mel_share"] == 1.0 and tuned["trainer"]["max_steps"] == 4
    assert json.loads((exp / "vocoder_tuned" / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 4
    for system in ("converted_pitch_none", "converted_pitch_auto", "baseline_mel_stats", "baseline_world",
                   "no_conversion", "copy_synthesis"):
        summary = json.loads((exp / "eval" / system / "summary.json").read_text())
        assert summary["num_pairs"] == 1 and summary["metrics"]["mcd_db"]["mean"] > 0, system
    lines = out.stdout.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("system "))):]
    assert table[0].split() == ["system", "MCD", "dB", "F0", "RMSE", "cents", "GPE", "spk", "sim", "DNSMOS",
                                "PESQ", "STOI"]
    assert [line.split()[0] for line in table[1:7]] == ["baseline_mel_stats", "baseline_world", "converted_pitch_auto",
                                                        "converted_pitch_none", "copy_synthesis", "no_conversion"]
    if dnsmos_available():  # every system has a naturalness score, and the last line the recordings' own
        assert all(line.split()[5] != "nan" for line in table[1:7])
        assert table[7].startswith("(DNSMOS OVRL of the reference recordings: ")
    assert (exp / "eval" / "table.txt").read_text().splitlines() == table
    # Running stage 0 again skips the verified copy without a request.
    again = subprocess.run(cmd + ["--stop-stage", "0"], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and again.stdout.count("; skipped") == 2 and len(file_server.requests) == 2
