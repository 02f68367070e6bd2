"""Shared fixtures: bundled sample clips, and ../shared/data when present (skipped otherwise)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    import torch
except ImportError:  # the slim install (tests/slim): no torch
    torch = None
else:
    # One intra-op thread: the tests run many tiny convolutions, which multi-threading only slows
    # down (and collapses when another process holds a core). Benchmarks set their own threads.
    torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "samples"
AUDIO_SAMPLES = SAMPLES_DIR / "audio"
# The developer data lives beside the checkout; VOICEGEN_SHARED_DATA may point elsewhere.
SHARED_DATA = Path(os.environ.get("VOICEGEN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Folder of bundled sample clips (always present in a checkout)."""
    return AUDIO_SAMPLES


@pytest.fixture(scope="session")
def sf1_clip() -> Path:
    """A 3.9 s, 16 kHz mono female speech clip (VCC 2016 SF1 200001)."""
    return AUDIO_SAMPLES / "SF1_200001.wav"


@pytest.fixture(scope="session")
def tm1_clip() -> Path:
    """A 3.5 s, 16 kHz mono male speech clip (VCC 2016 TM1 200001)."""
    return AUDIO_SAMPLES / "TM1_200001.wav"


@pytest.fixture(scope="session")
def flac_clip() -> Path:
    """A 14.4 s, 16 kHz FLAC male speech clip (LibriSpeech 78-368-0000)."""
    return AUDIO_SAMPLES / "78-368-0000.flac"


@pytest.fixture(scope="session")
def lj_clip() -> Path:
    """A 9.7 s, 22.05 kHz mono female speech clip (LJ Speech LJ001-0001)."""
    return AUDIO_SAMPLES / "LJ001-0001.wav"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (the developer corpus); the test is skipped when it is not there."""
    if not (SHARED_DATA / "vcc2016").is_dir():
        pytest.skip(f"developer data not found at {SHARED_DATA} (set VOICEGEN_SHARED_DATA)")
    return SHARED_DATA
