"""Cross-check against another PyPI implementation, ``mel-cepstral-distance`` (0.0.4).

Its definition differs from ours (see voicegen.eval.mcd): MFCC-style coefficients 1..16 of the
DCT of a 20-band HTK-mel log10 energy spectrum (Bels) from a 32 ms Hann STFT every 8 ms, no dB
factor, no silence trimming, approximate DTW (fastdtw, radius 10), audio peak-normalised. So the
numbers are not the same quantity; the test checks the things both must agree on: zero for
identical files, the same ordering of graded degradations, and the same magnitude on real pairs.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio.io import load_audio
from voicegen.eval.analysis import WorldAnalyzer, compare

pytest.importorskip("pyworld")
mcd_package = pytest.importorskip("mel_cepstral_distance")

SNRS_DB = (30, 20, 10)


def _theirs(path_a, path_b) -> float:
    return float(mcd_package.compare_audio_files(str(path_a), str(path_b))[0])


def test_identical_and_noisier_copies_rank_alike(sf1_clip, tmp_path) -> None:
    analyzer = WorldAnalyzer(16000)
    clean = load_audio(sf1_clip)[:40000]  # 2.5 s: fastdtw in pure Python is the slow part
    clean_path = tmp_path / "clean.wav"
    sf.write(clean_path, clean, 16000, subtype="PCM_16")
    reference = analyzer(load_audio(clean_path))
    assert compare(analyzer(load_audio(clean_path)), reference).mcd_db == 0.0
    assert _theirs(clean_path, clean_path) == 0.0

    rng = np.random.default_rng(0)
    power = float(np.mean(clean**2))
    ours, theirs = [], []
    for snr in SNRS_DB:
        noisy = clean + rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), clean.shape).astype(np.float32)
        noisy_path = tmp_path / f"snr{snr}.wav"
        sf.write(noisy_path, noisy, 16000, subtype="PCM_16")
        ours.append(compare(analyzer(load_audio(noisy_path)), reference).mcd_db)
        theirs.append(_theirs(noisy_path, clean_path))
    # Measured: ours 5.34 / 7.33 / 9.29 dB, theirs 3.70 / 5.92 / 7.84.
    assert ours == sorted(ours) and theirs == sorted(theirs)
    ratios = np.asarray(theirs) / np.asarray(ours)
    assert np.all((ratios > 0.6) & (ratios < 1.0))


@pytest.mark.shared_data
def test_real_pairs_have_the_same_magnitude(shared_data) -> None:
    """SF1 vs TM1 on three dev pairs: ours 8.51/9.48/10.02 dB, theirs 9.50/9.69/9.39."""
    folder = shared_data / "vcc2016" / "dev_parallel"
    analyzer = WorldAnalyzer(16000)
    ours, theirs = [], []
    for name in ("200001", "200002", "200003"):
        source, target = folder / "SF1" / f"{name}.wav", folder / "TM1" / f"{name}.wav"
        ours.append(compare(analyzer(load_audio(source)), analyzer(load_audio(target))).mcd_db)
        theirs.append(_theirs(source, target))
    assert np.mean(ours) == pytest.approx(np.mean(theirs), rel=0.15)
