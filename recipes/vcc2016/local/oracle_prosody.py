"""What F0 RMSE would a converter score with the target speaker's own intonation? An oracle, for the record.

    python recipes/vcc2016/local/oracle_prosody.py --dev ../shared/data/vcc2016/dev_parallel \
        --source SF1 --target TM1 --mode oracle --out runs/oracle/wav
    voicegen eval --converted runs/oracle/wav --reference ../shared/data/vcc2016/dev_parallel/TM1 \
        --source ../shared/data/vcc2016/dev_parallel/SF1 --f0-method harvest --dnsmos-framings 4 --out runs/oracle/eval

Each source file goes through the shipped converter (`--model`, its frame bank and post-filter included) as
`voicegen convert` runs it; only the F0 rows handed to the vocoder differ by ``--mode``:

* ``default``: the bundle's log-Gaussian transform of the source's F0 (the shipped path, vocoded whole-file here);
* ``oracle``: the parallel *target recording's* own F0 contour, DTW-aligned onto the converted frames (log-mels
  normalised per file), voicing from the source: the intonation no converter can know from the source alone;
* ``oracle_vuv``: as ``oracle``, voicing also from the target recording.

Scored with `voicegen eval` against the same target recordings, the oracle rows say how low log-F0 RMSE can go
when the prosody is exactly the reference's, through this converter's mel, this vocoder and this metric.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from voicegen.audio.f0 import affine_lf0, f0_rows
from voicegen.audio.features import compute_mel
from voicegen.eval.dtw import dtw_path
from voicegen.infer.convert import Converter

MODES = ("default", "oracle", "oracle_vuv")


def normalised(mel: np.ndarray) -> np.ndarray:
    """``(frames, n_mels)``: each band of ``mel`` ``(n_mels, frames)`` to zero mean, unit variance over the file."""
    return ((mel - mel.mean(1, keepdims=True)) / (mel.std(1, keepdims=True) + 1e-5)).T


def aligned_rows(mel_hat: np.ndarray, target_wav: np.ndarray, converter: Converter) -> np.ndarray:
    """The target recording's F0 rows ``(2, frames of mel_hat)``: per converted frame, the mean lf0 (and voicing share)
    of the target frames the DTW path matches it with."""
    fc, vocoder = converter.feature_config, converter.vocoder
    rows = f0_rows(target_wav, fc.sample_rate, fc.hop_length, vocoder.f0_config)
    mel = compute_mel(target_wav, fc)
    frames = min(mel.shape[1], rows.shape[1])
    path_x, path_y = dtw_path(normalised(mel_hat), normalised(mel[:, :frames]))
    count = np.bincount(path_x, minlength=mel_hat.shape[1])
    lf0 = np.bincount(path_x, rows[0, path_y], minlength=mel_hat.shape[1]) / count
    voiced = np.bincount(path_x, rows[1, path_y], minlength=mel_hat.shape[1]) / count
    return np.stack([lf0, voiced]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, required=True, help="folder with one sub-folder of parallel files per speaker")
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default=str(Path(__file__).resolve().parents[3] / "voicegen/assets/models/vcc2016_sf1_tm1"))
    parser.add_argument("--formant", type=float, default=None,
                        help="semitones the converted envelope moves [default: the model's setting for the target]")
    args = parser.parse_args()
    converter = Converter(args.model, runtime="onnx")
    fc, vocoder = converter.feature_config, converter.vocoder
    scale, offset = converter.f0_transform(args.source, args.target)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted((args.dev / args.source).glob("*.wav")):
        wav, rate = sf.read(path, dtype="float32")
        target_wav, target_rate = sf.read(args.dev / args.target / path.name, dtype="float32")
        if rate != fc.sample_rate or target_rate != fc.sample_rate:
            raise SystemExit(f"error: {path}: {rate} Hz (and {target_rate} Hz); the converter needs {fc.sample_rate}")
        _, _, mel_hat = converter.convert_wav(wav, args.source, args.target, formant=args.formant)
        rows = affine_lf0(f0_rows(wav, rate, fc.hop_length, vocoder.f0_config), scale, offset)
        frames = min(mel_hat.shape[1], rows.shape[1])
        mel_hat, rows = mel_hat[:, :frames], rows[:, :frames]
        if args.mode != "default":
            oracle = aligned_rows(mel_hat, target_wav, converter)
            rows[0] = oracle[0]
            if args.mode == "oracle_vuv":
                rows[1] = (oracle[1] >= 0.5).astype(np.float32)
        out = np.clip(vocoder.wav_from_mel(mel_hat, rows)[:len(wav)], -1.0, 1.0)
        sf.write(args.out / path.name, out, rate, subtype="PCM_16")
        print(path.name, flush=True)


if __name__ == "__main__":
    main()
