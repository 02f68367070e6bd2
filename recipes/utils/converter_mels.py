"""Input mels for fine-tuning a vocoder on what a converter outputs (`data.input_mels`).

    python recipes/utils/converter_mels.py --model vcc2016_sf1_tm1 --speaker TM1 \
        --src ../shared/data/vcc2016/TM1 --out runs/converter_mels/TM1

For every audio file under --src (a recording of --speaker), converts its log-mel to the bundle's
other speaker (or --via) and back, and writes the result as ``--out/<same relative path>.npy``
(float32, ``(n_mels, frames)``, the frames of the recording's own mel). The round trip ends in the
converter's own output, so a vocoder trained to turn these mels into the recording
(``data.input_mels: {SRC: [OUT]}``) learns to render that converter's outputs as real speech, the
way TTS vocoders are fine-tuned on their acoustic model's outputs. ``--reconstruct`` (a VAE
bundle) writes its reconstruction instead: encoded, then decoded as --speaker, one pass through
the decoder as in a conversion. A CycleGAN bundle's post-filter (``extra.postfilter``) runs after
each conversion as it does in `voicegen convert`; ``--postfilter NAME`` gives an export without
one the installed VAE NAME as its post-filter (as `voicegen bundle --postfilter NAME` will).
Existing files are refused unless --overwrite; each file is written whole or not at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from voicegen.artifact_meta import read_artifact_meta
from voicegen.audio.logmel import file_mel
from voicegen.audio.stats import list_audio_files
from voicegen.errors import VoicegenError
from voicegen.fileutil import atomic_path
from voicegen.infer.bundles import attach_postfilter, find_bundle, load_converter, postfilter_spec
from voicegen.progress import progress_bar


def round_trip(bundle, mel: np.ndarray, speaker: str, via: str) -> np.ndarray:
    """``mel`` of ``speaker`` converted to ``via`` and back: the converter's own output for it."""
    return bundle.convert_mel(bundle.convert_mel(mel, speaker, via), via, speaker).astype(np.float32)


def reconstruction(bundle, mel: np.ndarray, speaker: str) -> np.ndarray:
    """A VAE bundle's reconstruction of ``mel`` as ``speaker`` (posterior mean, that speaker's decoder)."""
    return bundle.decode(bundle.encode(mel).mean, speaker, mel.shape[1]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="converter bundle (name or folder)")
    parser.add_argument("--speaker", required=True, help="the speaker of the recordings in --src")
    parser.add_argument("--src", required=True, help="folder of that speaker's recordings")
    parser.add_argument("--out", required=True, help="folder for the .npy mels (same relative paths)")
    parser.add_argument("--via", help="speaker to go through (default: the bundle's other speaker)")
    parser.add_argument("--reconstruct", action="store_true",
                        help="a VAE's reconstruction as --speaker instead of a round trip")
    parser.add_argument("--postfilter", metavar="NAME",
                        help="run the installed VAE NAME after each conversion, as the bundle's post-filter")
    parser.add_argument("--overwrite", action="store_true", help="replace existing .npy files")
    args = parser.parse_args()
    try:
        path = find_bundle(args.model)
        bundle = load_converter(path)
        if args.postfilter:
            if args.reconstruct:
                raise SystemExit("error: --postfilter applies to a CycleGAN's round trips, not to --reconstruct")
            attach_postfilter(bundle, postfilter_spec(path, read_artifact_meta(path), args.postfilter, {}), path)
        if args.speaker not in bundle.speakers:
            raise SystemExit(f"error: {args.model} has no speaker {args.speaker!r} "
                             f"(speakers: {', '.join(bundle.speakers)})")
        others = [name for name in bundle.speakers if name != args.speaker]
        via = args.speaker if args.reconstruct else args.via or (others[0] if len(others) == 1 else None)
        if via is None:
            raise SystemExit(f"error: {args.model} has speakers {', '.join(bundle.speakers)}; pass --via")
        if args.reconstruct and not hasattr(bundle, "decode"):
            raise SystemExit(f"error: {args.model} is not a VAE; --reconstruct needs an encoder and a decoder")
        src, out = Path(args.src), Path(args.out)
        files = list_audio_files(src)
        targets = [(out / path.relative_to(src)).with_suffix(".npy") for path in files]
        existing = [t for t in targets if t.exists()]
        if existing and not args.overwrite:
            raise SystemExit(f"error: {existing[0]}: already exists ({len(existing)} of {len(targets)}); "
                             "pass --overwrite to replace them")
        contract = bundle.feature_config
        how = f"{args.speaker} reconstructed" if args.reconstruct else f"{args.speaker} -> {via} -> {args.speaker}"
        for path, target in progress_bar(list(zip(files, targets)), desc=how, unit="file"):
            mel, _ = file_mel(path, contract)
            out_mel = (reconstruction(bundle, mel, args.speaker) if args.reconstruct
                       else round_trip(bundle, mel, args.speaker, via))
            with atomic_path(target) as tmp, open(tmp, "wb") as handle:
                np.save(handle, out_mel)
        print(f"{len(files)} mels in {out}")
    except VoicegenError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    sys.exit(main())
