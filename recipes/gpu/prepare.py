"""Pack what a lent GPU machine needs for `recipes/gpu/run.py` into one ignored folder (default `.devkit/`).

Run here, on the development machine (it has the training data and a registry); the device tool then
carries the folder to the GPU machine (`carry: [".devkit"]`), which has PyTorch but no registry:

* `data/SF1`, `data/TM1`, `data/LS78`: the training folders as 16-bit FLAC (VCC 2016's unpaired training
  halves and LibriSpeech speaker 78, the shipped models' training data; never the evaluation folder);
* `whl/`: wheels of the packages voicegen needs that the machine's image lacks (pyworld-prebuilt, soxr,
  soundfile and what soundfile needs), for its Python 3.12 on x86-64.

The device tool sends at most 64 MiB (the checkout's tracked files included); the script prints the total.
When it would not fit, the last files of LibriSpeech 78 (the largest folder, and the one speaker not in the
conversion pair) are left out until it does, and it says how many; it exits non-zero only when even that is not
enough.

    python recipes/gpu/prepare.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
# name in the kit -> folder under --data-dir
FOLDERS = {"SF1": "vcc2016/SF1", "TM1": "vcc2016/TM1", "LS78": "librispeech/78"}
# Missing from the GPU image (the device tool's KINDS.md lists what it holds); versions as pinned here.
WHEELS = ("pyworld-prebuilt==0.3.6.post1", "soxr==1.1.0", "soundfile==0.14.0", "cffi==2.1.1", "pycparser==3.12")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64", "any")
LIMIT_MIB = 64.0  # what the device tool sends at most
# Left out first when the kit would not fit (the largest folder, and not a speaker of the conversion pair).
TRIMMED_FOLDER = "LS78"


def copy_as_flac(src: Path, dst: Path) -> int:
    """Every audio file under ``src`` (recursively) written as 16-bit FLAC into ``dst`` (flat); returns the count."""
    dst.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(p for p in src.rglob("*") if p.suffix.lower() in (".wav", ".flac")):
        audio, rate = sf.read(str(path), dtype="int16", always_2d=False)
        target = dst / f"{path.stem}.flac"
        tmp = target.with_suffix(".tmp.flac")
        sf.write(str(tmp), audio, rate, format="FLAC", subtype="PCM_16")
        tmp.replace(target)
        count += 1
    if not count:
        raise SystemExit(f"error: {src}: no .wav or .flac files; pass the folder that holds vcc2016/ and librispeech/")
    return count


def download_wheels(dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(dst), *WHEELS],
                   check=True)


def tracked_bytes() -> int:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True).stdout.split(b"\0")
    return sum((REPO / n.decode()).stat().st_size for n in names if n and (REPO / n.decode()).is_file())


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def trim_to_fit(folder: Path, excess: int) -> tuple[int, int]:
    """Remove the last files (by name) of ``folder`` until ``excess`` bytes are gone, keeping at least one;
    returns ``(files removed, bytes removed)``."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    removed = freed = 0
    while freed < excess and len(files) > 1:
        path = files.pop()
        freed += path.stat().st_size
        path.unlink()
        removed += 1
    return removed, freed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding vcc2016/SF1, vcc2016/TM1 and librispeech/78 [default: ../shared/data]")
    parser.add_argument("--kit", type=Path, default=REPO / ".devkit", help="folder to write [default: .devkit]")
    parser.add_argument("--no-wheels", action="store_true", help="skip the wheels (tests; the GPU machine needs them)")
    parser.add_argument("--limit-mib", type=float, default=LIMIT_MIB,
                        help=f"what may travel, tracked files included [default: {LIMIT_MIB:g}, the device tool's limit]")
    args = parser.parse_args(argv)

    for name, rel in FOLDERS.items():
        if not (args.data_dir / rel).is_dir():
            raise SystemExit(f"error: {args.data_dir / rel}: not a folder; pass --data-dir, the folder that holds "
                             f"{', '.join(FOLDERS.values())}")
    if (args.kit / "data").exists():
        shutil.rmtree(args.kit / "data")
    for name, rel in FOLDERS.items():
        count = copy_as_flac(args.data_dir / rel, args.kit / "data" / name)
        print(f"{name}: {count} files from {args.data_dir / rel}")
    if not args.no_wheels:
        download_wheels(args.kit / "whl")
        print(f"wheels: {', '.join(sorted(p.name for p in (args.kit / 'whl').glob('*.whl')))}")
    limit = int(args.limit_mib * 2 ** 20)
    kit, tree = folder_bytes(args.kit), tracked_bytes()
    if kit + tree > limit:
        removed, freed = trim_to_fit(args.kit / "data" / TRIMMED_FOLDER, kit + tree - limit)
        if removed:
            kept = len(list((args.kit / "data" / TRIMMED_FOLDER).iterdir()))
            print(f"{TRIMMED_FOLDER}: left out its last {removed} files ({freed / 2 ** 20:.1f} MiB) to fit; "
                  f"{kept} kept")
        kit = folder_bytes(args.kit)
    print(f"kit {kit / 2 ** 20:.1f} MiB + tracked files {tree / 2 ** 20:.1f} MiB = {(kit + tree) / 2 ** 20:.1f} MiB "
          f"(at most {args.limit_mib:g} MiB may travel)")
    if kit + tree > limit:
        print(f"error: too large to send even with one {TRIMMED_FOLDER} file; leave out files of the other data "
              "folders", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
