"""The slim install (`pip install voicegen`: ONNX Runtime, no torch): convert, vocode and stream the
bundled samples with the shipped models, and one-line errors where a command needs the torch extra.

CI runs this file in a virtual environment without torch (`make test-slim`); in the full
environment each command runs in a fresh interpreter where torch, librosa, matplotlib and onnx
cannot be imported, which is the same situation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "audio"
SF1 = SAMPLES / "SF1_200001.wav"
BLOCKED = ("torch", "torchaudio", "librosa", "matplotlib", "scipy", "onnx", "numba", "PIL")
RUNNER = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from voicegen.cli import main
sys.argv = ["voicegen"] + sys.argv[1:]
try:
    main()
except SystemExit as done:
    code = done.code
else:
    code = 0
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r} and sys.modules[m] is not None)
assert not loaded, loaded
sys.exit(code)
"""


def voicegen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``voicegen ARGS`` in a fresh interpreter that cannot import what the slim install lacks."""
    return subprocess.run([sys.executable, "-c", RUNNER.format(blocked=BLOCKED), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def read(path: Path) -> np.ndarray:
    wav, rate = sf.read(str(path), dtype="float32")
    assert rate == 16000 and wav.ndim == 1 and np.isfinite(wav).all()
    return wav


def test_convert_vocode_and_stream_run_without_torch(tmp_path) -> None:
    source = read(SF1)
    done = voicegen("convert", "--src", str(SF1), "--target", "TM1", "--out", "tm1.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "vcc2016_sf1_tm1" in done.stdout and "on ONNX Runtime, cpu" in done.stdout
    assert "post-filter: vae16k" in done.stdout  # the VAE's graphs run it, torch-free too
    converted = read(tmp_path / "tm1.wav")
    assert converted.shape == source.shape and np.abs(converted).max() > 0.05
    assert np.abs(converted - source).mean() > 0.01  # not the input
    done = voicegen("convert", "--src", str(SAMPLES / "78-368-0000.flac"), "--target", "SF1", "--source", "LS78",
                    "--model", "vae16k", "--out", "vae.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "vae16k" in done.stdout and "on ONNX Runtime, cpu" in done.stdout
    assert read(tmp_path / "vae.wav").shape[0] == sf.info(str(SAMPLES / "78-368-0000.flac")).frames
    done = voicegen("vocode", str(SF1), "copy.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    copy = read(tmp_path / "copy.wav")
    assert copy.shape == source.shape
    # copy-synthesis keeps the waveform's envelope: frame energies follow the source's
    frames = source.shape[0] // 256
    energy = [np.log(1e-6 + np.square(w[:frames * 256].reshape(frames, 256)).mean(1)) for w in (source, copy)]
    assert np.corrcoef(*energy)[0, 1] > 0.9
    done = voicegen("stream", "--src", str(SF1), "--target", "TM1", "--out", "live.wav", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "algorithmic latency" in done.stderr
    assert 0 <= source.shape[0] - read(tmp_path / "live.wav").shape[0] < 256  # whole frames of hop 256


def test_what_needs_torch_says_how_to_get_it(tmp_path) -> None:
    done = voicegen("convert", "--src", str(SF1), "--target", "TM1", "--out", "t.wav", "--runtime", "torch",
                    cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: PyTorch is not installed, and this needs it: pip install 'voicegen[torch]' (or convert with "
        "--runtime onnx, which runs models that carry ONNX graphs, such as the shipped ones)")
    assert not (tmp_path / "t.wav").exists()
    done = voicegen("convert", "--src", str(SF1), "--target", "TM1", "--out", "p.wav", "--plot", "p.png",
                    cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: this needs matplotlib, which the slim install leaves out: pip install 'voicegen[torch]' "
        "(convert, vocode and stream run without it on models that carry ONNX graphs, such as the shipped ones)")
    assert not (tmp_path / "p.wav").exists() and not (tmp_path / "p.png").exists()


def test_help_models_info_features_and_stats_run_without_torch(tmp_path) -> None:
    for args in (["--help"], ["convert", "--help"], ["train", "cyclegan", "--help"]):
        done = voicegen(*args, cwd=tmp_path)
        assert done.returncode == 0 and "Usage:" in done.stdout, done.stderr
    done = voicegen("models", cwd=tmp_path)
    assert done.returncode == 0 and "vcc2016_sf1_tm1" in done.stdout and "vocoder16k" in done.stdout
    done = voicegen("info", str(SF1), cwd=tmp_path)
    assert done.returncode == 0 and "16000 Hz" in done.stdout
    done = voicegen("features", str(SF1), "--out", "mel.npy", "--f0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "mel.npy").shape == (82, 62201 // 256)
    folder = tmp_path / "voice"
    folder.mkdir()
    (folder / SF1.name).write_bytes(SF1.read_bytes())
    done = voicegen("stats", str(folder), "--out", "stats.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "stats.json").is_file()


SERVE = """
import io, sys
for name in {blocked!r}:
    sys.modules[name] = None
from voicegen.web.app import WebSettings, create_app
app = create_app(WebSettings())
client = app.test_client()
data = {{"audio": (open({clip!r}, "rb"), "clip.wav"), "model": "vcc2016_sf1_tm1", "source": "SF1", "target": "TM1"}}
answer = client.post("/api/convert", data=data, content_type="multipart/form-data").get_json()
assert answer["plot"] is None and answer["runtime"] == "onnx", answer
print(len(client.get(answer["audio"]).data))
app.close()
"""


def test_the_web_app_converts_without_torch(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-c", SERVE.format(blocked=BLOCKED, clip=str(SF1))], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) == 44 + 2 * sf.info(str(SF1)).frames  # a 16-bit wav, the input's length
