"""In which frequency band does a re-synthesis lose its naturalness and its MCD? Ask by repair.

    python recipes/vocoder16k/local/band_swap.py \
        --converted RUN/copy_synthesis/SF1 --reference ../shared/data/vcc2016/dev_parallel/SF1

For every .wav of --reference with a namesake in --converted (a vocoder's copy-synthesis, sample
aligned with the recording), the converted file is re-scored with one band of its STFT replaced by
the recording's (rows "band A-B Hz"), with everything below a crossover replaced (rows "below F
Hz"), and, below --phase-below Hz, with only the recording's magnitude or only its phase put in
(rows "magnitude <F Hz" / "phase <F Hz"; the other half stays the converted file's). A band whose
repair lifts DNSMOS (or lowers MCD) a lot is where the loss is; a repair that moves nothing clears
that band. STFT: --n-fft points, a quarter of that as hop, Hann window; the rows "converted" and
"reference" are the two files scored the same way, unmixed. Scores: DNSMOS P.835 SIG / BAK / OVRL
(speechmos) and the MCD of ``voicegen eval`` (WORLD mel-cepstrum, Harvest F0, DTW), means over files.
"""

from __future__ import annotations

import argparse

import numpy as np
from copy_synthesis_breakdown import namesake_pairs  # this folder (on sys.path when run as a script)
from scipy.signal import istft, stft

from voicegen.audio.io import load_audio
from voicegen.eval.analysis import WorldAnalyzer, compare
from voicegen.eval.mcd import frame_distortion_db

RATE = 16000
BAND_EDGES_HZ = (0, 250, 500, 1000, 2000, 4000, 8000)
CROSSOVERS_HZ = (500, 1000, 2000, 4000)


def mixes(converted: np.ndarray, reference: np.ndarray, n_fft: int, phase_below_hz: float) -> dict[str, np.ndarray]:
    """Name -> waveform: the converted file with parts of its STFT taken from the reference (same length)."""
    length = min(len(converted), len(reference))
    hop = n_fft // 4
    kwargs = dict(fs=RATE, window="hann", nperseg=n_fft, noverlap=n_fft - hop)
    freqs, _, c = stft(converted[:length], **kwargs)
    _, _, r = stft(reference[:length], **kwargs)
    out = {}

    def put(name: str, spec: np.ndarray) -> None:
        out[name] = istft(spec, **kwargs)[1][:length].astype(np.float32)

    put("converted", c)
    put("reference", r)
    col = freqs[:, None]
    for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:]):
        band = (col >= lo) & ((col < hi) if hi < RATE // 2 else True)
        put(f"band {lo}-{hi} Hz", np.where(band, r, c))
    for cut in CROSSOVERS_HZ:
        put(f"below {cut} Hz", np.where(col < cut, r, c))
    low = col < phase_below_hz
    put(f"magnitude <{phase_below_hz:g} Hz", np.where(low, np.abs(r) * np.exp(1j * np.angle(c)), c))
    put(f"phase <{phase_below_hz:g} Hz", np.where(low, np.abs(c) * np.exp(1j * np.angle(r)), c))
    return out


def scores(pairs: list[tuple[str, str]], n_fft: int, phase_below_hz: float, with_dnsmos: bool) -> list[str]:
    analyzer = WorldAnalyzer(RATE, f0_method="harvest")
    table: dict[str, list[list[float]]] = {}
    for converted, reference in pairs:
        y = load_audio(reference, RATE)
        fy = analyzer(y)
        for name, wav in mixes(load_audio(converted, RATE), y, n_fft, phase_below_hz).items():
            fx = analyzer(wav)
            px, py = compare(fx, fy).path
            row = [float(frame_distortion_db(fx.mcep[px], fy.mcep[py]).mean())]
            if with_dnsmos:
                from voicegen.eval.naturalness import dnsmos_scores

                dns = dnsmos_scores(wav, RATE)
                row += [dns["dnsmos_sig"], dns["dnsmos_bak"], dns["dnsmos_ovrl"]]
            table.setdefault(name, []).append(row)
    head = "MCD dB" + (" | DNSMOS SIG / BAK / OVRL" if with_dnsmos else "")
    lines = [f"{len(pairs)} files, STFT {n_fft}/{n_fft // 4}; converted with the reference's ... : {head}"]
    for name, rows in table.items():
        m = np.mean(rows, axis=0)
        text = f"{m[0]:.3f}" + (f" | {m[1]:.3f} / {m[2]:.3f} / {m[3]:.3f}" if with_dnsmos else "")
        lines.append(f"  {name:24s} {text}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--converted", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--n-fft", type=int, default=512)
    parser.add_argument("--phase-below", type=float, default=2000.0, help="Hz, for the magnitude / phase rows")
    parser.add_argument("--no-dnsmos", action="store_true", help="MCD only (no speechmos)")
    args = parser.parse_args()
    pairs = namesake_pairs(parser, args.converted, args.reference)
    print("\n".join(scores(pairs, args.n_fft, args.phase_below, not args.no_dnsmos)))


if __name__ == "__main__":
    main()
