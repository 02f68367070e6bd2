"""``voicegen eval``: objective metrics of converted (or vocoded) files against references.

Registered on the main group at the bottom of ``voicegen/cli.py``. Only click is imported here;
the metrics (pyworld, torch, optional resemblyzer/pesq/pystoi) load inside the command.
"""

from __future__ import annotations

from pathlib import Path

import click

F0_METHODS = ("dio", "harvest")


@click.command("eval")
@click.option("--converted", "converted_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of converted (or vocoded) audio, or one converted file.")
@click.option("--reference", "reference_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of target recordings; files pair by name (relative path without extension). Or one "
                   "file: the reference of a single --converted file.")
@click.option("--source", "source_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of the unconverted inputs (or one file, for one pair): adds similarity to the source "
                   "and the no-conversion baseline (source vs reference) columns.")
@click.option("--out", "out_dir", default=None, type=click.Path(path_type=Path, file_okay=False),
              help="Report folder: per_file.csv, summary.json and PNG plots [default: print the figures only].")
@click.option("--copy-synthesis", is_flag=True,
              help="The converted files are vocoder re-syntheses of the references (sample aligned): "
                   "also compute LSD, mel L1, PESQ and STOI.")
@click.option("--speaker-similarity/--no-speaker-similarity", default=None,
              help="Require / skip Resemblyzer speaker similarity [default: when resemblyzer imports].")
@click.option("--dnsmos/--no-dnsmos", "naturalness", default=None,
              help="Require / skip DNSMOS naturalness (speechmos) [default: when speechmos is installed].")
@click.option("--dnsmos-framings", type=click.IntRange(min=1), default=1, show_default=True,
              help="Average each DNSMOS score over this many framings of the clip. With 1 (speechmos's "
                   "procedure, comparable with published figures) a file's score moves by ~0.03 with where "
                   "its frames fall; 4 cuts that 2-5x, for 4x the DNSMOS time.")
@click.option("--f0-method", type=click.Choice(F0_METHODS), default="dio", show_default=True,
              help="WORLD F0 tracker: dio (DIO + StoneMask, fast) or harvest (slower, voices more frames).")
@click.option("--plots", "num_plots", type=click.IntRange(min=0), default=3, show_default=True,
              help="Pairs drawn in the F0 and spectrogram figures.")
@click.option("--overwrite", is_flag=True, help="Replace an existing report in --out.")
@click.option("--strict", is_flag=True,
              help="Fail when any file has no partner [default: score the common pairs, list the others].")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def eval_command(converted_dir: Path, reference_dir: Path, source_dir: Path | None, out_dir: Path,
                 copy_synthesis: bool, speaker_similarity: bool | None, naturalness: bool | None,
                 dnsmos_framings: int, f0_method: str, num_plots: int,
                 overwrite: bool, strict: bool, no_progress: bool) -> None:
    """Score converted speech against references: MCD (DTW), log-F0 RMSE, gross pitch error and
    correlation, V/UV error, duration ratio, speaker similarity, DNSMOS naturalness (converted
    and reference); LSD/mel L1/PESQ/STOI with --copy-synthesis.

    Files in folders pair by name (path without extension); single files are one pair. The
    pairs common to the folders are scored; files without a partner are listed (count and
    names, also in summary.json), and only no common pair at all is an error, unless --strict.

    \b
    Examples:
      voicegen convert --src samples/audio/SF1_200001.wav --target TM1 --out SF1_200001_to_TM1.wav
      voicegen eval --converted SF1_200001_to_TM1.wav --reference samples/audio/TM1_200001.wav \\
          --source samples/audio/SF1_200001.wav --out report/
      voicegen eval --converted samples/audio/SF1_200001.wav --reference samples/audio/TM1_200001.wav  # no conversion
      voicegen eval --converted converted/ --reference recordings/TM1 --out report/  # placeholder
    """
    _check_inputs(converted_dir, reference_dir, source_dir, out_dir, overwrite)
    from voicegen.eval.evaluate import evaluate_folders

    report = evaluate_folders(converted_dir, reference_dir, out_dir, source_dir=source_dir,
                              copy_synthesis=copy_synthesis, speaker_similarity=speaker_similarity,
                              naturalness=naturalness, dnsmos_framings=dnsmos_framings,
                              f0_method=f0_method, num_plots=num_plots, overwrite=overwrite,
                              progress=not no_progress, strict=strict)
    metrics = report.summary["metrics"]
    pairs = report.summary["num_pairs"]
    click.echo(f"{pairs} pair{'s' if pairs != 1 else ''} at {report.summary['sample_rate']} Hz")
    for line in report.unmatched:
        click.echo(f"unmatched: {line}")
    for name in ("mcd_db", "f0_rmse_cents", "gpe", "f0_corr", "vuv_error", "duration_ratio",
                 "speaker_similarity", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "reference_dnsmos_ovrl",
                 "source_mcd_db", "source_f0_rmse_cents", "source_gpe", "source_speaker_similarity",
                 "lsd_db", "mel_l1", "pesq_wb", "stoi"):
        stats = metrics.get(name)
        if stats is None:
            continue
        if stats["count"] == 0:
            click.echo(f"  {name:<26} n/a")
        elif pairs == 1:
            click.echo(f"  {name:<26} {stats['mean']:9.3f}")
        else:
            click.echo(f"  {name:<26} {stats['mean']:9.3f} +- {stats['std']:.3f}  (n={stats['count']})")
    note = report.summary["settings"]["speaker_similarity"]
    if note.startswith("skipped") and speaker_similarity is None:
        click.echo(f"speaker similarity {note}")
    note = report.summary["settings"]["naturalness"]
    if note.startswith("skipped") and naturalness is None:
        click.echo(f"DNSMOS {note}")
    if report.out_dir is not None:
        click.echo(f"wrote {report.out_dir}: {len(report.files)} files (per_file.csv, summary.json, plots)")


def _check_inputs(converted: Path, reference: Path, source: Path | None, out: Path | None, overwrite: bool) -> None:
    """The one-line errors that need no audio read: missing paths, files mixed with folders, a full --out."""
    given = [("--converted", converted), ("--reference", reference)] + ([("--source", source)] if source else [])
    for option, path in given:
        if not path.exists():
            raise click.ClickException(f"{path}: not found ({option}); pass a folder of audio files, or a file")
    if len({path.is_file() for _, path in given}) > 1:
        raise click.ClickException("pass files for all of --converted, --reference (and --source) to score one pair, "
                                   "or folders for all of them")
    if out is not None and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise click.ClickException(f"{out}: already holds files; pass --overwrite to replace the report")
