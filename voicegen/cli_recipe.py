"""``voicegen recipe ...``: list the training recipes, download a corpus, prepare its folders.

Registered on the main group at the bottom of ``voicegen/cli.py``. Only click is imported here;
the library (``voicegen.recipe``) loads inside the commands, so ``voicegen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

TABLE_COLUMNS = ("recipe", "stages", "data", "size", "licence", "what")
TABLE_GAP = "  "
MISSING = "-"
ROOT_HELP = "Recipes folder [default: recipes/ of the source checkout voicegen runs from, else ./recipes]."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def recipe() -> None:
    """Training recipes: numbered stages from download to evaluation, one folder per corpus.

    Recipes live in the source repository (recipes/<name>/: README.md, recipe.yaml, conf/*.yaml,
    run.sh); they are not installed with the package. Run one from the checkout's root:

    \b
    Examples:
      voicegen recipe list
      voicegen recipe download cmu_arctic --out downloads/cmu_arctic --only bdl --only slt  # network
      bash recipes/vcc2016/run.sh --stop-stage 2   # network: stage 0 downloads VCC 2016
      bash recipes/vcc2016/run.sh --data-dir DIR --stop-stage 2  # placeholder: DIR/SF1/, DIR/TM1/ or the zips' layout
    """


@recipe.command("list")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None, help=ROOT_HELP)
def list_command(root: Path | None) -> None:
    """Show every recipe: stages, corpus, disk space, licence and what it trains.

    \b
    Example:
      voicegen recipe list
    """
    from voicegen.recipe.manifest import default_root, find_recipes

    root = root if root is not None else default_root()
    recipes = find_recipes(root)
    if not recipes:
        click.echo(f"no recipes in {root} (a recipe is a folder holding run.sh)")
        return
    rows = [TABLE_COLUMNS]
    for info in recipes:
        data = info.data
        rows.append((info.name, info.stage_range, data.name or MISSING, data.size or MISSING,
                     data.licence or MISSING, info.summary or MISSING))
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS) - 1)]
    for row in rows:
        click.echo(TABLE_GAP.join([cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]).rstrip())
    undescribed = [info.name for info in recipes if not info.described]
    if undescribed:
        click.echo(f"({', '.join(undescribed)}: no recipe.yaml; summary and stages read from run.sh)")
    click.echo(f"recipes in {root}; README.md in each folder gives the commands and expected figures")


@recipe.command("download")
@click.argument("name")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder the corpus is extracted into (archives are fetched to OUT/archives/).")
@click.option("--only", "only", multiple=True, metavar="ITEM",
              help="Fetch only this item of the manifest (repeatable); `--only x` also fetches optional items.")
@click.option("--with-optional", is_flag=True, help="Also fetch the items marked optional.")
@click.option("--manifest", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Take the downloads from this YAML (`downloads: [...]`, e.g. a local mirror) "
                   "instead of the recipe's recipe.yaml.")
@click.option("--keep-archives", is_flag=True, help="Keep the zip/tar files after extracting them.")
@click.option("--list", "list_only", is_flag=True, help="Print the manifest (urls, sizes, checksums) and stop.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None, help=ROOT_HELP)
def download_command(name: str, out_dir: Path, only: tuple[str, ...], with_optional: bool, manifest: Path | None,
                     keep_archives: bool, list_only: bool, no_progress: bool, root: Path | None) -> None:
    """Stage 0: fetch recipe NAME's corpus from its official address, verify, extract into --out.

    Each file is downloaded into OUT/archives/<file>.part (an interrupted download resumes), its
    size and published sha256/md5 are checked (a mismatch removes the file and stops with an
    error; where no checksum is published the computed sha256 is printed with a warning), then
    it is extracted into OUT. Files fetched and verified before are skipped.

    \b
    Example:
      voicegen recipe download vcc2016 --out downloads/vcc2016 --list
      voicegen recipe download ljspeech --out downloads/ljspeech  # network: 2.6 GB
    """
    from voicegen.recipe.download import fetch_all
    from voicegen.recipe.manifest import find_recipe, load_manifest

    items = load_manifest(manifest) if manifest is not None else find_recipe(name, root).downloads
    if not items:
        raise click.ClickException(f"recipe {name!r} has nothing to download (it uses bundled or local data)")
    known = [item.name for item in items]
    unknown = [item for item in only if item not in known]
    if unknown:
        raise click.ClickException(f"no download item {', '.join(unknown)} in recipe {name!r}; "
                                   f"choose from: {', '.join(known)}")
    if only:
        chosen = [item for item in items if item.name in only]
    else:
        chosen = [item for item in items if with_optional or not item.optional]
    if list_only:
        for item in items:
            checksum = (f"sha256 {item.sha256}" if item.sha256 else f"md5 {item.md5}" if item.md5
                        else "no published checksum")
            size = f"{item.size} bytes" if item.size is not None else "size unknown"
            flag = " (optional)" if item.optional else ""
            click.echo(f"{item.name}{flag}: {item.url}  [{size}; {checksum}]")
        return
    results = fetch_all(chosen, out_dir, progress=not no_progress, keep_archives=keep_archives,
                        log=lambda line: click.echo(line, err=line.startswith("warning:")))
    unverified = [r.name for r in results if not r.verified]
    click.echo(f"{len(results)} item(s) ready in {out_dir}"
               + (f"; not verified (no published checksum): {', '.join(unverified)}" if unverified else ""))


@recipe.command("prepare")
@click.argument("source", type=click.Path(path_type=Path, file_okay=False))
@click.argument("out_dir", metavar="OUT", type=click.Path(path_type=Path, file_okay=False))
@click.option("--include", multiple=True, metavar="GLOB", help="Keep file names matching this glob (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Drop file names matching this glob (repeatable).")
@click.option("--ids", default=None, metavar="LOW-HIGH",
              help="Keep utterance ids (the last number in the file name) in this range, e.g. 100001-100081.")
@click.option("--per-speaker", type=int, default=None, help="At most N files per first-level subfolder.")
@click.option("--skip", type=int, default=0, show_default=True, help="Drop the first N selected files (sorted).")
@click.option("--first", type=int, default=None, help="Then keep at most N files.")
@click.option("--hold-out", type=int, default=0, show_default=True,
              help="Move N selected files (a stable hash of their names) to --hold-out-dir.")
@click.option("--hold-out-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the held-out files.")
@click.option("--sample-rate", type=int, default=None,
              help="Resample files at another rate to 16-bit wavs at this rate [default: link the originals].")
@click.option("--overwrite", is_flag=True, help="Replace existing output folders.")
def prepare_command(source: Path, out_dir: Path, include: tuple[str, ...], exclude: tuple[str, ...], ids: str | None,
                    per_speaker: int | None, skip: int, first: int | None, hold_out: int, hold_out_dir: Path | None,
                    sample_rate: int | None, overwrite: bool) -> None:
    """Stage 1: pick audio files under SOURCE into OUT (links, or resampled copies).

    Files keep their path relative to SOURCE, so parallel recordings keep matching names.

    \b
    Examples:
      voicegen recipe prepare samples/audio data/train/SF1 --include 'SF1_*' --ids 100001-100081
      voicegen recipe prepare samples/audio data/train/all --hold-out 2 --hold-out-dir data/dev/all
      voicegen recipe prepare downloads/vcc2016/vcc2016_training/SF1 runs/vcc2016/data/train/SF1 \\
          --ids 100001-100081  # network: after `voicegen recipe download vcc2016 --out downloads/vcc2016`
    """
    from voicegen.recipe.prepare import Selection, parse_ids, prepare_folder

    selection = Selection(include=include, exclude=exclude, ids=parse_ids(ids) if ids else None,
                          per_speaker=per_speaker, skip=skip, first=first, hold_out=hold_out)
    done = prepare_folder(source, out_dir, selection, hold_out_dir=hold_out_dir, sample_rate=sample_rate,
                          overwrite=overwrite)
    held = f", {done.held_out} held out in {hold_out_dir}" if hold_out_dir is not None else ""
    resampled = f" ({done.resampled} resampled to {sample_rate} Hz)" if done.resampled else ""
    click.echo(f"wrote {done.out_dir}: {done.files} files{held}{resampled}")


IMAGE_KINDS = ("mnist", "optdigits")
"""The kinds of ``prepare-images`` (``voicegen.recipe.images.KINDS``; repeated so this module stays numpy-free)."""


@recipe.command("prepare-images")
@click.argument("kind", type=click.Choice(IMAGE_KINDS))
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--split", default=None,
              help="mnist: t10k (the test set, default) or train; optdigits: tes (default: the 1797 digits "
                   "scikit-learn ships) or tra.")
@click.option("--first", type=int, default=None, help="Keep the first N digits [default: all].")
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT.")
def prepare_images_command(kind: str, source: Path, out: Path, split: str | None, first: int | None,
                           overwrite: bool) -> None:
    """Stage 1 of the image recipes: KIND's digits from SOURCE as the .npz OUT (x, y, index).

    SOURCE is the folder stage 0 downloaded into (MNIST's *-idx?-ubyte.gz files, or the UCI
    zip's optdigits.tes/.tra), an optdigits file, or an .npz already in the layout (x uint8
    (N, H, W), y labels), such as ../shared/data/images/mnist/mnist_t10k_dev.npz.

    \b
    Example:
      voicegen recipe prepare-images mnist downloads/mnist runs/mnist/data/mnist_t10k_dev.npz \\
          --first 8000  # network: after `voicegen recipe download mnist --out downloads/mnist`
      voicegen recipe prepare-images optdigits downloads/digits_cyclegan \\
          runs/digits/data/uci_digits_8x8.npz  # network: after `voicegen recipe download digits_cyclegan ...`
    """
    from voicegen.recipe.images import prepare_digits

    done = prepare_digits(kind, source, out, split=split, first=first, overwrite=overwrite)
    click.echo(f"wrote {done.out}: {done.count} digits of {done.side} x {done.side} pixels from {done.source}")
