"""recipes/gpu: the kit for a lent GPU machine. prepare.py packs FLAC copies of the training folders;
run.py's jobs resolve to valid training configs; a job stopped by the deadline (SIGTERM) still leaves a
checkpoint whose export comes back packed, loadable as a model."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
GPU = REPO / "recipes" / "gpu"
sys.path.insert(0, str(GPU))
import run as gpu_run  # noqa: E402

AUDIO = REPO / "samples" / "audio"


def fake_data(root: Path, copies: int = 4) -> Path:
    """vcc2016/SF1, vcc2016/TM1, librispeech/78 laid out as ../shared/data, from the bundled clips."""
    layout = {"vcc2016/SF1": "SF1_*.wav", "vcc2016/TM1": "TM1_*.wav", "librispeech/78/368": "78-*.flac"}
    for folder, pattern in layout.items():
        (root / folder).mkdir(parents=True)
        for clip in sorted(AUDIO.glob(pattern)):
            for i in range(copies):
                (root / folder / f"{clip.stem}_{i}{clip.suffix}").write_bytes(clip.read_bytes())
    return root


def prepare(data: Path, kit: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GPU / "prepare.py"), "--data-dir", str(data), "--kit", str(kit),
                           "--no-wheels", *args], capture_output=True, text=True, timeout=300, cwd=REPO)


def test_prepare_packs_flac_copies_and_refuses_a_wrong_data_dir(tmp_path) -> None:
    data = fake_data(tmp_path / "data", copies=1)
    done = prepare(data, tmp_path / "kit")
    assert done.returncode == 0, done.stderr
    assert "SF1: 2 files from" in done.stdout and "LS78: 1 files from" in done.stdout
    original, _ = sf.read(str(AUDIO / "SF1_200001.wav"), dtype="int16")
    packed, rate = sf.read(str(tmp_path / "kit" / "data" / "SF1" / "SF1_200001_0.flac"), dtype="int16")
    assert rate == 16000 and (packed == original).all()  # FLAC is lossless
    wrong = prepare(tmp_path / "nowhere", tmp_path / "kit2")
    assert wrong.returncode != 0
    assert wrong.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'nowhere' / 'vcc2016/SF1'}: not a folder; pass --data-dir, the folder that holds "
        "vcc2016/SF1, vcc2016/TM1, librispeech/78")


def test_prepare_leaves_out_librispeech_files_until_the_kit_fits(tmp_path) -> None:
    data = fake_data(tmp_path / "data", copies=4)
    whole = prepare(data, tmp_path / "kit")
    assert whole.returncode == 0, whole.stderr
    total = float(whole.stdout.split(" MiB = ")[1].split(" MiB")[0])
    ls78 = sorted((tmp_path / "kit" / "data" / "LS78").iterdir())
    assert len(ls78) == 4
    # a limit 0.3 MiB below the total: the last LibriSpeech files go (each ~0.2 MiB), the other folders stay whole
    trimmed = prepare(data, tmp_path / "kit", "--limit-mib", f"{total - 0.3:.2f}")
    assert trimmed.returncode == 0, trimmed.stderr
    kept = sorted((tmp_path / "kit" / "data" / "LS78").iterdir())
    assert [p.name for p in kept] == [p.name for p in ls78[:len(kept)]] and 1 <= len(kept) <= 2
    assert f"LS78: left out its last {4 - len(kept)} files" in trimmed.stdout
    assert len(list((tmp_path / "kit" / "data" / "SF1").iterdir())) == 8
    # not even one LibriSpeech file left fits: refused, with what to do
    refused = prepare(data, tmp_path / "kit", "--limit-mib", "1")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: too large to send even with one LS78 file; leave out files of the other data folders")


@pytest.mark.parametrize("job", gpu_run.JOBS)
def test_every_job_resolves_to_a_valid_training_config(tmp_path, job) -> None:
    from voicegen.config import load_config
    from voicegen.train.cyclegan import CycleGANTrainConfig
    from voicegen.train.vocoder import VocoderTrainConfig

    args = gpu_run.job_commands(tmp_path / "kit", tmp_path / "runs", "cuda", 7, None)[job]
    config_path = Path(args[args.index("--config") + 1])
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    schema = CycleGANTrainConfig if job == "converter" else VocoderTrainConfig
    config = load_config(schema, config_path, sets)
    assert config.trainer.ema_decay > 0
    if job == "converter":
        assert "--minutes" in args and config.data.dir_a == str(tmp_path / "kit" / "data" / "SF1")
    else:
        assert config.data.speed_factors == [0.85, 0.9, 1.0, 1.1, 1.2, 1.3, 1.45] and config.trainer.loss_weights["stft"] == 40
        assert (config.adversarial_start == 0) == (job == "vocoder_adv")
        assert config.trainer.batch_size == (32 if job == "vocoder_long" else 16)


def run_kit(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    kit = tmp_path / "kit"
    if not kit.is_dir():
        assert prepare(fake_data(tmp_path / "data"), kit).returncode == 0
    out = tmp_path / name
    done = subprocess.run([sys.executable, str(GPU / "run.py"), "--kit", str(kit), "--out", str(out), "--runs",
                           str(tmp_path / f"runs_{name}"), "--jobs", "vocoder_long", "--device", "cpu", *args],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["summary.txt", "vocoder_long.tar"]
    with tarfile.open(out / "vocoder_long.tar") as tar:
        tar.extractall(tmp_path / f"back_{name}", filter="data")
    from voicegen.infer.vocode import load_vocoder

    back = tmp_path / f"back_{name}" / "vocoder_long"
    assert load_vocoder(back / "export", "cpu").f0_config is not None  # the source-filter design, F0 contract kept
    return done, back


@pytest.mark.slow
def test_a_job_that_reaches_its_steps_and_one_stopped_by_the_deadline_both_come_back(tmp_path) -> None:
    done, back = run_kit(tmp_path, "steps", "--steps", "2")
    assert "vocoder_long: finished, last checkpoint step 2, exported yes" in (tmp_path / "steps" / "summary.txt").read_text()
    assert "trainer.max_steps=2" in done.stdout and "asked vocoder_long to stop" not in done.stdout
    assert "max_steps: 2\n" in (back / "config.yaml").read_text()
    # --minutes sizes the run, but loading the data, tracking F0 and measuring the rate come first: with no slack
    # the deadline stops the job, which saves a checkpoint that is exported and packed all the same
    done, back = run_kit(tmp_path, "deadline", "--minutes", "0.3", "--slack", "0")
    assert "asked vocoder_long to stop" in done.stdout
    summary = (tmp_path / "deadline" / "summary.txt").read_text()
    assert "vocoder_long: stopped at the deadline (" in summary and "exported yes" in summary
    assert "--minutes 0.3: " in (back / "train.log").read_text()
