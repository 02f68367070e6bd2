"""voicegen.audio.plot: mel pictures with seconds/Hz axes, saved atomically as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from voicegen.audio.features import compute_mel, get_preset, hz_to_mel
from voicegen.audio.io import load_audio
from voicegen.audio.plot import mel_figure, mels_figure, plot_mel, plot_mels_side_by_side
from voicegen.errors import AudioError

CONFIG = get_preset("vc16k")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def mel(sf1_clip: Path) -> np.ndarray:
    return compute_mel(load_audio(sf1_clip), CONFIG)


def test_axes_are_seconds_and_hz(mel: np.ndarray) -> None:
    fig = mel_figure(mel, CONFIG, "SF1")
    ax = fig.axes[0]
    duration = mel.shape[1] * CONFIG.hop_length / CONFIG.sample_rate
    assert ax.get_xlim() == pytest.approx((0.0, duration))
    assert duration == pytest.approx(62201 / 16000, abs=CONFIG.frame_seconds)
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (Hz)"
    assert ax.get_title() == "SF1"
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels == ["0", "250", "500", "1000", "2000", "4000", "8000"]
    ticks = ax.get_yticks()  # placed on the mel scale: fmin at the bottom edge, fmax at the top
    assert np.all(np.diff(ticks) > 0)
    assert ax.get_ylim() == pytest.approx((ticks[0], ticks[-1]))
    assert ax.get_ylim() == pytest.approx(tuple(hz_to_mel([0.0, 8000.0])))
    # Slaney mel is linear below 1 kHz: 500 Hz sits halfway between 0 and 1000 Hz.
    assert ticks[2] - ticks[0] == pytest.approx(ticks[3] - ticks[2], rel=1e-6)
    colorbar = fig.axes[1]
    assert colorbar.get_ylabel() == "dB"
    low, high = ax.images[0].get_clim()
    assert high == pytest.approx(20 / np.log(10) * mel.max()) and high - low == pytest.approx(80.0)


def test_plot_mel_writes_a_png_atomically(tmp_path: Path, mel: np.ndarray) -> None:
    path = plot_mel(mel, CONFIG, tmp_path / "figs" / "sf1.png", title="SF1")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert 10_000 < len(data) < 2_000_000
    with pytest.raises(AudioError, match=r"sf1\.png: already exists; pass --overwrite"):
        plot_mel(mel, CONFIG, path)
    plot_mel(mel[:, :50], CONFIG, path, overwrite=True)
    assert path.read_bytes() != data
    assert os.listdir(tmp_path / "figs") == ["sf1.png"]


def test_side_by_side_shares_one_colour_scale(tmp_path: Path, mel: np.ndarray) -> None:
    quieter = mel - 2.0
    fig = mels_figure([mel, quieter[:, :100]], ["source", "converted"], CONFIG, db=False)
    panels = fig.axes[:2]
    assert [ax.get_title() for ax in panels] == ["source", "converted"]
    assert panels[0].images[0].get_clim() == panels[1].images[0].get_clim()
    assert panels[0].images[0].get_clim() == pytest.approx((quieter.min(), mel.max()))
    assert panels[1].get_xlim() == pytest.approx((0.0, 100 * CONFIG.frame_seconds))
    assert fig.axes[2].get_ylabel() == "log-mel (log base e)"
    path = plot_mels_side_by_side([mel, quieter], ["a", "b"], CONFIG, tmp_path / "pair.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_bad_inputs_are_clear_errors(mel: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"expected a mel shaped \(80, frames\) for this config, got \(40, "):
        mel_figure(mel[:40], CONFIG)
    with pytest.raises(ValueError, match="need one title per mel"):
        mels_figure([mel, mel], ["only one"], CONFIG)
