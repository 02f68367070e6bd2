"""Pieces the ``voicegen`` commands share: the --device option, quick argument checks, one-line output,
and the options and run-folder handling of the train commands (``voicegen train``, ``voicegen image train``).

Only click and the standard library are imported here. The checks run before a command imports
torch or loads a model, so that a wrong path or an existing output is reported at once (see
``benchmarks/startup.py``) rather than after seconds of imports.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from voicegen.errors import user_message

DEVICES = ("auto", "cpu", "cuda")
"""--device choices; ``auto`` is CUDA when torch sees one, else the CPU."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would raise KeyboardInterrupt, so the same cleanup runs."""


def device_option(what: str = "the model"):
    """``--device auto|cpu|cuda`` (default auto) for a command that runs ``what``."""
    return click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
                        help=f"Where to run {what}: auto is CUDA when available, else the CPU.")


def runtime_option(what: str = "the models"):
    """``--runtime auto|torch|onnx`` (default auto) for a command that runs ``what``."""
    return click.option("--runtime", type=click.Choice(["auto", "torch", "onnx"]), default="auto", show_default=True,
                        help=f"What runs {what}: onnx is ONNX Runtime on the CPU without importing torch (starts in "
                             "well under a second; the models need ONNX graphs: `voicegen export KIND --artifact "
                             "FOLDER --onnx`, the shipped ones have them); auto: onnx on the CPU where every model "
                             "has graphs, else torch.")


def postfilter_option():
    """``--no-postfilter``: skip the bundle's post-filter (``extra.postfilter``) and frame bank (``extra.frame_bank``)."""
    return click.option("--no-postfilter", "no_postfilter", is_flag=True,
                        help="Skip the bundle's post-processing, if it has any (a frame bank that re-draws each "
                             "converted frame from the target's own frames, a VAE post-filter that re-projects each "
                             "converted mel; `voicegen models` shows them): the converter's own output.")


def frame_bank_mix_option():
    """``--frame-bank-mix``: the share of each converted frame a bundle's frame bank re-draws (0 leaves it out)."""
    return click.option("--frame-bank-mix", "frame_bank_mix", type=click.FloatRange(0, 1), default=None,
                        metavar="0..1",
                        help="Share of each converted frame re-drawn from the target's recorded frames by the bundle's "
                             "frame bank (RVC's index rate): 1 only the re-drawn frames (closer to the target's "
                             "timbre), 0 leaves the bank out and keeps the post-filter [default: the bundle's; 0.7 "
                             "in the shipped converters].")


def formant_option(kept: str, *, model_default: bool = False):
    """``--formant SEMITONES``: move the spectral envelope (formants) by that many semitones, pitch ``kept``;
    ``model_default``: a converter's option, whose default (None) is the bundle's setting for the target."""
    default = ("[default: the model's setting for the target (`voicegen models` lists any), else 0]" if model_default
               else "[default: 0]")
    return click.option("--formant", type=float, default=None if model_default else 0.0, metavar="SEMITONES",
                        help=f"Move the formants (the mel's spectral envelope) by this many semitones, within +-12 "
                             f"({kept}); needs a pitch-conditioned (source_filter) vocoder. About +2..+4 makes a "
                             f"voice sound smaller, -2..-4 larger. {default}")


def resolve_device(spec: str):
    """The ``torch.device`` for a --device value (imports torch; ConfigError for CUDA without CUDA)."""
    from voicegen.train.device import resolve_device as resolve

    return resolve(spec)



def refuse_existing(path: Path | None, overwrite: bool) -> None:
    """An ``Error:`` when the output ``path`` exists and --overwrite was not given."""
    if path is not None and path.exists() and not overwrite:
        raise click.ClickException(f"{path}: already exists; pass --overwrite to replace it")


def input_kind(spec: Path) -> str:
    """``file``, ``folder``, ``glob`` or ``list`` for an input argument; the one-line error when it
    is none of them (a missing path). Reads nothing but the file system's names."""
    from voicegen.errors import VoicegenError
    from voicegen.infer.batch.inputs import input_kind as kind

    try:
        return kind(spec)
    except VoicegenError as err:
        raise click.ClickException(user_message(str(err))) from None


def require_folder(path: Path, what: str = "audio files") -> None:
    """An ``Error:`` naming ``path`` when it is not an existing folder."""
    if not path.is_dir():
        state = "is a file, not a folder" if path.exists() else "folder not found"
        raise click.ClickException(f"{path}: {state}; pass a folder of {what}")


# ---------------------------------------------------------------- the train commands (voicegen train, voicegen image train)


def check_config(ctx: click.Context, param: click.Parameter, path: Path) -> Path:
    """--config must name a regular .yaml/.yml file: said before torch is imported."""
    from voicegen.errors import ConfigError
    from voicegen.yamlio import check_config_file

    try:
        check_config_file(path)
    except ConfigError as err:
        raise click.ClickException(str(err)) from None
    return path


def run_options(recipe: str, set_example: str, family: str):
    """The options every `voicegen train` command shares: --config, --set, --run-dir, --resume, --device."""
    options = [
        click.option("--config", "config_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
                     callback=check_config,
                     help=f"YAML config (see recipes/{recipe}/conf/); its include: may name other .yaml/.yml files."),
        click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help=f"Override a config entry (dotted path, YAML value); repeatable, e.g. --set {set_example}."),
        click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                     help=f"Run folder [default: runs/{family}-<config name>, e.g. runs/{family}-tiny]."),
        click.option("--resume/--no-resume", default=None,
                     help="Require / refuse an existing checkpoint in the run folder [default: resume if there "
                          "is one]."),
        click.option("--device", type=click.Choice(DEVICES), default=None,
                     help="Override trainer.device (auto: CUDA when available, else the CPU) [default: the "
                          "config's trainer.device]."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def load_run(schema: type, family: str, config_path: Path, overrides: tuple[str, ...], device: str | None,
             run_dir: Path | None, resume: bool | None):
    """(config, run folder, resume mode) from a train command's shared options; the run folder
    defaults to ``runs/<family>-<config name>``."""
    from voicegen.config import load_config
    from voicegen.pathcheck import check_writable
    from voicegen.train.run import default_run_dir

    items = list(overrides) + ([f"trainer.device={device}"] if device else [])
    config = load_config(schema, config_path, items)
    run_dir = run_dir if run_dir is not None else default_run_dir(family, config_path)
    check_writable(run_dir, what="run folder")
    return config, run_dir, "auto" if resume is None else resume


def already_finished(run_dir: Path, max_steps: int, resume: bool | str, minutes: float | None = None) -> bool:
    """Say so (and return True) when ``run_dir`` holds a run that reached ``max_steps`` and exported:
    running the same command again then changes nothing (its ``export/`` is kept). ``minutes``: the
    command's --minutes, which fixes the budget of a run it started (so training on needs it dropped)."""
    from voicegen.train.run import EXPORT_DIR, finished_step

    step = finished_step(run_dir, max_steps)
    if step is None or resume is False:  # --no-resume on a finished run: the trainer refuses, naming the folder
        return False
    on = "without --minutes, " if minutes else ""
    click.echo(f"{run_dir}: this run already finished (step {step}, trainer.max_steps {max_steps}) and its model "
               f"is in {run_dir / EXPORT_DIR}; nothing to do. To train on: {on}--set trainer.max_steps=N (more than "
               f"{step}); for a new run: --run-dir DIR; to export an earlier step: `voicegen export`.")
    return True


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the CLI: one ``Warning: ...`` line on stderr (no source line)."""
    click.echo(f"Warning: {user_message(str(message))}", err=True)


@contextmanager
def one_line_warnings():
    """Show every Python warning raised inside as one ``Warning: ...`` line on stderr."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        yield
