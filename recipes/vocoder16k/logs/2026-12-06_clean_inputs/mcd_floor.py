"""How low can a vocoder's copy-synthesis MCD go without the recording's phase? A diagnostic, not a feature.

    python recipes/vocoder16k/logs/2026-12-06_clean_inputs/mcd_floor.py --converted OUT/LJ --reference LJ16

For every namesake pair, the copy-synthesis is re-synthesised with the recording's whole STFT magnitude and the
copy-synthesis's own phase ("recording magnitude"), and the other way round ("recording phase"), by band_swap.py's
mixes (recipes/vocoder16k/local; 512 / 128 and 1024 / 256 points, Hann, the whole band); each is scored with voicegen eval's MCD
(WORLD mel-cepstrum, Harvest F0, DTW). A vocoder that rendered the recording's STFT magnitude exactly, but not its
phase, would score about the "recording magnitude" row.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "local"))
from band_swap import RATE, mixes  # noqa: E402  recipes/vocoder16k/local
from copy_synthesis_breakdown import namesake_pairs  # noqa: E402

from voicegen.audio.io import load_audio  # noqa: E402
from voicegen.eval.analysis import WorldAnalyzer, compare  # noqa: E402
from voicegen.eval.mcd import frame_distortion_db  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--converted", required=True)
    parser.add_argument("--reference", required=True)
    args = parser.parse_args()
    analyzer = WorldAnalyzer(RATE, f0_method="harvest")
    table: dict[str, list[float]] = {}
    for converted, reference in namesake_pairs(parser, args.converted, args.reference):
        y, x = load_audio(reference, RATE), load_audio(converted, RATE)
        fy = analyzer(y)
        wavs = {"copy-synthesis": x[:min(len(x), len(y))]}
        for n_fft in (512, 1024):
            whole_band = mixes(x, y, n_fft, phase_below_hz=RATE)  # every bin below RATE: the whole band
            wavs[f"recording magnitude, {n_fft}"] = whole_band[f"magnitude <{RATE} Hz"]
            wavs[f"recording phase, {n_fft}"] = whole_band[f"phase <{RATE} Hz"]
        for name, wav in wavs.items():
            fx = analyzer(wav.astype(np.float32))
            px, py = compare(fx, fy).path
            table.setdefault(name, []).append(float(frame_distortion_db(fx.mcep[px], fy.mcep[py]).mean()))
    for name, values in table.items():
        print(f"  {name:28s} MCD {np.mean(values):.3f} dB ({len(values)} files)")


if __name__ == "__main__":
    main()
