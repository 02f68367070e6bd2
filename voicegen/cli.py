"""The ``voicegen`` command line: parse, validate, call a library function.

No model code lives here and heavy modules are imported inside each command, so that
``voicegen --help`` answers quickly. Library errors (:class:`voicegen.errors.VoicegenError`)
become one ``Error: ...`` line and exit status 1, never a traceback; library warnings become
one ``Warning: ...`` line each. SIGTERM stops a command the way Ctrl-C does (the atomic writers
remove their temporary files), with exit status 143 (130 for Ctrl-C).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import click

from voicegen import __version__
from voicegen.cli_batch import (
    BatchOptions,
    batch_options,
    batch_signals,
    check_batch_flags,
    check_writable_outputs,
    finish_batch,
    print_line,
)
from voicegen.cli_common import Terminated, input_kind, one_line_warnings, refuse_existing, require_folder
from voicegen.errors import TrainingInterrupted, VoicegenError, user_message
from voicegen.interrupts import request_stop

PRESET_HELP = "Mel preset (the mel contract): vc16k (16 kHz) or hifigan22k (22.05 kHz)."


# Exit status after Ctrl-C / SIGTERM (128 + SIGINT), as shells report it.
INTERRUPTED_EXIT_CODE = 130
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM
# How torch reports a failed allocation (a RuntimeError, or its OutOfMemoryError subclass).
OUT_OF_MEMORY_TEXTS = ("can't allocate memory", "not enough memory", "out of memory")


# What `pip install 'voicegen[torch]'` adds to the slim (ONNX Runtime) install.
FULL_INSTALL_MODULES = ("torch", "torchaudio", "librosa", "matplotlib", "scipy", "PIL")


class _Group(click.Group):
    """A click group that turns VoicegenError into a one-line error and exit code 1, warnings into
    one-line messages, and SIGTERM into the Ctrl-C path (exit 143 after cleanup)."""

    def invoke(self, ctx: click.Context):
        with _sigterm_as_interrupt(), one_line_warnings():
            try:
                return super().invoke(ctx)
            except TrainingInterrupted as err:  # a checkpoint was saved: say so, exit like an interrupt
                click.echo(f"Stopped: {user_message(str(err))}", err=True)
                ctx.exit(INTERRUPTED_EXIT_CODE)
            except VoicegenError as err:
                raise click.ClickException(user_message(str(err))) from None
            except ModuleNotFoundError as err:  # the slim install (no torch, librosa, matplotlib...)
                if (err.name or "").split(".")[0] not in FULL_INSTALL_MODULES:
                    raise
                raise click.ClickException(
                    f"this needs {err.name.split('.')[0]}, which the slim install leaves out: pip install "
                    "'voicegen[torch]' (convert, vocode and stream run without it on models that carry ONNX "
                    "graphs, such as the shipped ones)") from None
            except KeyboardInterrupt as err:
                name = "SIGTERM" if isinstance(err, Terminated) else "SIGINT (Ctrl-C)"
                click.echo(f"Stopped by {name}; the files being written were discarded", err=True)
                ctx.exit(TERMINATED_EXIT_CODE if isinstance(err, Terminated) else INTERRUPTED_EXIT_CODE)
            except (MemoryError, RuntimeError) as err:  # last resort: the inputs' limits are checked first
                detail = " ".join(str(err).split()) or "no detail"
                if not isinstance(err, MemoryError) and not any(text in detail for text in OUT_OF_MEMORY_TEXTS):
                    raise
                raise click.ClickException(f"out of memory ({detail[:200]}); lower the sizes in the command, "
                                           "config or input") from None


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the cleanup must not be interrupted again
    request_stop(Terminated)  # now, or once the temporaries being made are registered for removal


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` inside the block (main thread only; Python allows no other)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="voicegen")
def cli() -> None:
    """voicegen: voice conversion, vocoding and latent voice features.

    \b
    Examples:
      voicegen models
      voicegen info samples/audio/SF1_200001.wav
      voicegen features samples/audio/SF1_200001.wav --out mel.npy --plot mel.png
      voicegen convert --src samples/audio/SF1_200001.wav --target TM1 --plot SF1_200001_to_TM1.png
      voicegen eval --converted SF1_200001_to_TM1.wav --reference samples/audio/TM1_200001.wav
      voicegen train --help
    """


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def info(files: tuple[Path, ...]) -> None:
    """Print rate, channels, duration and peak of audio FILES.

    \b
    Example:
      voicegen info samples/audio/SF1_200001.wav samples/audio/78-368-0000.flac
    """
    from voicegen.audio.io import audio_info

    for path in files:
        meta = audio_info(path)
        click.echo(
            f"{path}: {meta.sample_rate} Hz, {meta.channels} ch, {meta.duration_seconds:.3f} s, "
            f"{meta.frames} frames, peak {meta.peak:.3f}, {meta.format}/{meta.subtype}"
        )


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Where to write the log-mel as .npy, shape (n_mels, frames), float32; a folder for a "
                   "folder, glob or list input (mirrored, .npy files).")
@click.option("--plot", "plot", type=click.Path(path_type=Path), default=None,
              help="Also draw the spectrogram (seconds x Hz) to this PNG (a folder for a folder input).")
@click.option("--preset", default="vc16k", show_default=True, help=PRESET_HELP)
@click.option("--f0", "with_f0", is_flag=True,
              help="Append the two F0 rows a pitch-conditioned vocoder takes (log-F0, voicing; WORLD DIO at the "
                   "mel hop): the .npy is then (n_mels + 2, frames).")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@batch_options
def features(file: Path, out: Path, plot: Path | None, preset: str, with_f0: bool, overwrite: bool,
             batch: BatchOptions) -> None:
    """Compute the log-mel spectrogram of FILE (resampled to the preset's rate).

    FILE may also be a folder, a quoted glob or a list file (.txt, one path per line):
    --out is then a folder that mirrors it, written by the batch engine (--jobs workers; a
    manifest makes running it again skip finished files).

    \b
    Example:
      voicegen features samples/audio/SF1_200001.wav --out mel.npy --plot mel.png
      voicegen features samples/audio/SF1_200001.wav --out mel_f0.npy --f0
      voicegen features samples/audio --out mels/ --jobs 2
    """
    many = input_kind(file) != "file"  # arguments first: an error comes before the heavy imports
    if many:
        check_batch_flags(batch)
    if many and out.suffix.lower() == ".npy":
        raise click.ClickException(f"{out}: give a folder as --out for a folder, glob or list input")
    if not many:
        if out.suffix != ".npy":
            raise click.ClickException(f"{out}: --out must end in .npy")
        refuse_existing(out, overwrite)
        refuse_existing(plot, overwrite)
        check_writable_outputs([out, plot], inputs=[file])
    from voicegen.infer.commands import run_features
    from voicegen.infer.options import FeaturesOptions

    options = FeaturesOptions(preset=preset, f0=with_f0, plot=plot)
    with batch_signals(many):
        outcome = run_features(file, out, options, batch=batch, overwrite=overwrite, echo=print_line)
    if many:
        finish_batch(outcome)
    elif outcome is not None:
        rows = f"log-mel {outcome.n_mels}" + (f" + {outcome.f0_rows} F0 rows" if outcome.f0_rows else "")
        click.echo(f"wrote {outcome.out}: {rows} x {outcome.frames} frames ({outcome.sample_rate} Hz, "
                   f"hop {outcome.hop_length})")
        if outcome.plot is not None:
            click.echo(f"wrote {outcome.plot}")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Where to write the statistics JSON.")
@click.option("--preset", default="vc16k", show_default=True, help=PRESET_HELP)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def stats(folder: Path, out: Path, preset: str, overwrite: bool, no_progress: bool) -> None:
    """Per-speaker statistics of all audio under FOLDER.

    Per-mel-bin mean/std of log-mel and mean/std of log-F0 over voiced frames; the
    converters normalise with these.

    \b
    Example:
      mkdir -p voices/SF1 && cp samples/audio/SF1_*.wav voices/SF1/
      voicegen stats voices/SF1 --out SF1.json
    """
    require_folder(folder)
    refuse_existing(out, overwrite)
    from voicegen.audio.contract import get_preset
    from voicegen.audio.stats import compute_stats, list_audio_files

    # --out may not be one of the clips it summarises (an existing file is the only one that can be).
    check_writable_outputs([out], inputs=list_audio_files(folder) if out.exists() and folder.is_dir() else [])
    result = compute_stats(folder, get_preset(preset), progress=not no_progress)
    result.save_json(out, overwrite=overwrite)
    if result.log_f0_mean is None:
        pitch = "no voiced frames found, so no log-F0 statistics"
    else:
        pitch = (f"log-F0 mean {result.log_f0_mean:.3f} (~{math.exp(result.log_f0_mean):.0f} Hz), "
                 f"std {result.log_f0_std:.3f}")
    click.echo(f"wrote {out}: {result.num_files} files, {result.total_seconds:.1f} s, {pitch}")


# Commands defined in their own (equally import-light) modules.
from voicegen.cli_train import export, train, vocode  # noqa: E402

cli.add_command(train)
cli.add_command(vocode)
cli.add_command(export)

from voicegen.cli_convert import bundle, convert, models  # noqa: E402

cli.add_command(convert)
cli.add_command(models)
cli.add_command(bundle)

from voicegen.cli_stream import stream  # noqa: E402

cli.add_command(stream)

from voicegen.cli_serve import serve  # noqa: E402

cli.add_command(serve)

from voicegen.cli_eval import eval_command  # noqa: E402

cli.add_command(eval_command)

from voicegen.cli_image import image  # noqa: E402

cli.add_command(image)

from voicegen.cli_recipe import recipe  # noqa: E402

cli.add_command(recipe)

from voicegen.cli_vae import audit, latent  # noqa: E402

cli.add_command(latent)
cli.add_command(audit)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="voicegen")


if __name__ == "__main__":
    main()
