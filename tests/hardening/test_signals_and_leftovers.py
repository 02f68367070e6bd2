"""Class 7: signals and leftovers. SIGTERM stops a command like Ctrl-C (temporaries removed, exit 143);
the temporaries a SIGKILL leaves are removed by the next write of the same output; a resumed
training run drops the metrics.jsonl records it redoes, and a truncated latest checkpoint falls back
to the previous one with a warning.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hostile import CONVERTER, tone
from torch import nn
from torch.utils.data import Dataset

from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
from voicegen.checkpoint import CheckpointWarning, list_checkpoints
from voicegen.fileutil import atomic_write_text, remove_stale_temporaries
from voicegen.train.config import OptimizerConfig, TrainerConfig
from voicegen.train.trainer import Trainer

WAIT_SECONDS = 60.0


def test_sigterm_during_a_single_file_convert_leaves_nothing(tmp_path, sf1_clip) -> None:
    src = tmp_path / "long.wav"
    save_audio(src, np.tile(load_audio(sf1_clip), 16), 16000)  # ~62 s: still converting when stopped
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VOICEGEN_MODELS": str(tmp_path / "none")}
    proc = subprocess.Popen([sys.executable, "-m", "voicegen", "convert", "--src", str(src), "--target", "TM1",
                             "--model", str(CONVERTER), "--out", str(out / "o.wav")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT_SECONDS
    while not any(p.name.endswith((".tmp.wav", ".tmp.w64")) for p in out.glob(".*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the conversion never started writing"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=WAIT_SECONDS)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "Stopped by SIGTERM" in err
    assert list(out.iterdir()) == []


def _stale(dest, suffix: str, random: str = "a1b2c3d4"):
    path = dest.parent / f".{dest.name}.{random}.tmp{suffix}"
    path.write_bytes(b"half-written")
    return path


def test_a_rerun_removes_the_temporaries_a_killed_run_left(tmp_path) -> None:
    dest = tmp_path / "o.wav"
    left = [_stale(dest, ".wav"), _stale(dest, ".w64", "zzzz_999")]
    other = _stale(tmp_path / "other.wav", ".wav")
    save_audio(dest, tone(), 16000)
    assert not any(p.exists() for p in left)
    assert other.exists(), "only the temporaries of the output being written are removed"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.wav.a1b2c3d4.tmp.wav", "o.wav"]


def test_a_temporary_held_by_a_live_writer_is_kept(tmp_path) -> None:
    dest = tmp_path / "o.txt"
    live = _stale(dest, ".txt")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the writer in another process holds it
        assert remove_stale_temporaries(dest) == []
        atomic_write_text(dest, "done")
        assert live.exists()
    finally:
        os.close(fd)
    assert remove_stale_temporaries(dest) == [live]


# ------------------------------------------------------------------ training: kill -9 and resume


class _Items(Dataset):
    takes_seed = True

    def __len__(self) -> int:
        return 6

    def __getitem__(self, key):
        _, seed = key
        g = torch.Generator().manual_seed(seed)
        return {"x": torch.randn(4, generator=g)}


class _Task:
    """One linear layer fitted to zero; ``kill_at``: raise at that step, as a SIGKILL would stop it
    (no checkpoint, no cleanup)."""

    def __init__(self, kill_at: int | None = None) -> None:
        torch.manual_seed(0)
        self.net = nn.Linear(4, 4)
        self.kill_at = kill_at

    def modules(self):
        return {"net": self.net}

    def optimizer_groups(self):
        return {"net": ["net"]}

    def losses(self, phase, batch, step):
        if step == self.kill_at:
            raise KeyboardInterrupt  # stands for the process vanishing mid-step
        return {"l2": self.net(batch["x"]).pow(2).mean()}


def _config() -> TrainerConfig:
    return TrainerConfig(max_steps=8, batch_size=2, device="cpu", log_every=1, checkpoint_every=3, keep_last=5,
                         progress=False, tensorboard=False, optimizers={"net": OptimizerConfig(lr=1e-2)})


def _steps(run_dir) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
            if "step" in line and "val/" not in line]


def test_a_resumed_run_does_not_log_the_redone_steps_twice(tmp_path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        Trainer(_Task(kill_at=5), _Items(), _config(), run_dir).fit(resume="auto")
    assert _steps(run_dir) == [1, 2, 3, 4]  # step 4 logged after the last checkpoint (3)
    with open(run_dir / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 5, "time": 1.0, "l2"')  # a line the kill cut short
    Trainer(_Task(), _Items(), _config(), run_dir).fit(resume=True)
    assert _steps(run_dir) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        Trainer(_Task(kill_at=7), _Items(), _config(), run_dir).fit(resume="auto")
    latest = list_checkpoints(run_dir)[-1]
    assert latest.name == "step_00000006.safetensors"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])  # the kill cut the write short
    resumed = Trainer(_Task(), _Items(), _config(), run_dir)
    with pytest.warns(CheckpointWarning, match=r"step_00000006.safetensors: cannot read training checkpoint "
                                              r"\(truncated.*; resuming from an earlier checkpoint"):
        resumed.fit(resume=True)
    assert resumed.step == 8
    assert _steps(run_dir) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_atomic_dir_removes_the_folders_of_dead_writers_only(tmp_path) -> None:
    from voicegen.fileutil import _HOST, atomic_dir

    dest = tmp_path / "export"
    dead = tmp_path / f".export.tmp-{_HOST}-{2**22 + 12345}-0123456789ab"  # beyond any pid this test sees
    live = tmp_path / f".export.tmp-{_HOST}-{os.getpid()}-0123456789ab"
    other_host = tmp_path / ".export.tmp-elsewhere-1-0123456789ab"
    for folder in (dead, live, other_host):
        folder.mkdir()
    with atomic_dir(dest) as tmp:
        tmp.mkdir()
        (tmp / "a.txt").write_text("x")
    assert not dead.exists() and live.exists() and other_host.exists()
    assert (dest / "a.txt").read_text() == "x"
