"""``voicegen latent encode|traverse`` and ``voicegen audit``: thin commands over voicegen.infer.vae_tools.

Registered on the main group at the bottom of ``voicegen/cli.py``. Only click is imported here.
The VAE is ``--model`` (a folder or an installed bundle's name) or the first installed ``vae``
bundle (see `voicegen models`); the shipped default is found when nothing else is installed.
"""

from __future__ import annotations

from pathlib import Path

import click

from voicegen.cli_common import device_option, refuse_existing, resolve_device


def _model_option(func):
    return click.option("--model", default=None,
                        help="VAE folder or installed bundle name [default: the first installed VAE, "
                             "see `voicegen models`].")(func)


def _vae_path(model: str | None) -> Path:
    """The folder of --model (a path or an installed VAE's name) or of the default VAE; no torch."""
    from voicegen.errors import ArtifactError, ConfigError
    from voicegen.infer.bundles import VAE_KIND, list_bundles

    if model is None:
        found = [b for b in list_bundles() if b.kind == VAE_KIND]
        if not found:
            raise ConfigError("no VAE installed; pass --model PATH (a `voicegen train vae` export or bundle)")
        path = found[0].path
    else:
        path = Path(model)
        if not path.exists():
            named = [b for b in list_bundles() if b.name == model and b.kind == VAE_KIND]
            if not named:
                raise ArtifactError(f"{path}: not found (neither a folder nor an installed VAE name); "
                                    "see `voicegen models`")
            path = named[0].path
    return path


def _load(path: Path, device: str):
    """(VAEBundle, its vocoder or None) of the VAE folder ``path``."""
    from voicegen.infer.bundles import read_bundle_info, vocoder_path
    from voicegen.infer.vae import load_vae_bundle
    from voicegen.infer.vocode import load_vocoder

    vae = load_vae_bundle(path, device=resolve_device(device))
    info = read_bundle_info(path)
    vocoder = load_vocoder(vocoder_path(path), vae.device) if info.vocoder else None
    return vae, vocoder


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def latent() -> None:
    """Look inside voices with a spectrogram VAE: encode files, traverse latent dimensions.

    The VAE is --model (a folder or an installed name), else the first installed one: the
    shipped vae16k (speakers SF1, TM1, LS78).

    \b
    Examples:
      voicegen latent encode samples/audio/SF1_200001.wav --out z.npy
      voicegen latent traverse samples/audio/SF1_200001.wav --dims 0,1 --steps 3 --out trav/
      voicegen audit samples/audio --out audit/
    """


@latent.command("encode")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Where to save the latents (.npy, float32 (latent_channels, latent frames)).")
@_model_option
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
@device_option("the VAE")
def encode(file: Path, out: Path, model: str | None, overwrite: bool, device: str) -> None:
    """Save the posterior mean of FILE's latents (one vector per 4 mel frames with the default VAE).

    \b
    Example:
      voicegen latent encode samples/audio/SF1_200001.wav --out z.npy
    """
    refuse_existing(out, overwrite)
    path = _vae_path(model)
    import numpy as np

    from voicegen.cli_batch import check_writable_outputs
    from voicegen.fileutil import atomic_path
    from voicegen.infer.vae_tools import encode_file

    check_writable_outputs([out], inputs=[file])
    vae, _ = _load(path, device)
    z = encode_file(vae, file)
    with atomic_path(out) as tmp:
        np.save(tmp, z)
    click.echo(f"wrote {out}: latents {z.shape[0]} x {z.shape[1]} (dims x latent frames)")


def _refuse_full_folder(out: Path, overwrite: bool) -> None:
    """An ``Error:`` before any model loads when the output folder already holds files."""
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise click.ClickException(f"{out}: already holds files; pass --overwrite to write into it")


def _parse_dims(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers like 0,1,2; got {text!r}") from None


@latent.command("traverse")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for traverse.png, kl_rank.png and one wav per (dimension, value).")
@click.option("--dims", default=None, help="Comma-separated dimensions [default: the file's 3 highest-KL ones].")
@click.option("--range", "value_range", nargs=2, type=float, default=(-3.0, 3.0), show_default=True,
              metavar="LO HI", help="Values each dimension is swept over (the prior is N(0, 1)).")
@click.option("--steps", type=click.IntRange(2, 64), default=7, show_default=True,
              help="Values per dimension (at most 64, and 256 cells over all dims).")
@click.option("--speaker", default=None, help="Voice to decode with [default: the speaker that fits the file best].")
@_model_option
@click.option("--overwrite", is_flag=True, help="Write into a non-empty --out folder.")
@device_option("the VAE and its vocoder")
def traverse(file: Path, out: Path, dims: str | None, value_range: tuple[float, float], steps: int,
             speaker: str | None, model: str | None, overwrite: bool, device: str) -> None:
    """Sweep latent dimensions of FILE one at a time and decode: a PNG grid and a wav per cell.

    \b
    Example:
      voicegen latent traverse samples/audio/SF1_200001.wav --dims 0,1,2 --range -3 3 --steps 7 --out trav/
    """
    _refuse_full_folder(out, overwrite)
    chosen = _parse_dims(dims)
    path = _vae_path(model)
    from voicegen.infer.vae_tools import top_kl_dims, traverse_file
    from voicegen.pathcheck import check_writable

    check_writable(out, what="output folder")
    vae, vocoder = _load(path, device)
    chosen = chosen or top_kl_dims(vae, file)
    if vocoder is None:
        click.echo("note: this VAE has no vocoder; writing the PNGs only", err=True)
    result = traverse_file(vae, vocoder, file, dims=chosen, lo=value_range[0], hi=value_range[1], steps=steps,
                           out_dir=out, speaker=speaker, overwrite=overwrite)
    voice = f" in {result.speaker}'s voice" if result.speaker else ""
    click.echo(f"wrote {result.grid}, {result.kl_rank} and {len(result.wavs)} wavs under {out} "
               f"(dims {', '.join(map(str, result.dims))}{voice})")


@click.command("audit")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for audit.csv (ranked) and audit.png.")
@_model_option
@click.option("--top", type=int, default=10, show_default=True, help="Clips listed on the terminal.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty --out folder.")
@click.option("--no-progress", is_flag=True, help="No progress bar (on a terminal) or progress lines (in a log).")
@device_option("the VAE")
def audit(folder: Path, out: Path, model: str | None, top: int, overwrite: bool, no_progress: bool,
          device: str) -> None:
    """Rank the clips under FOLDER by how atypical they are (negative ELBO per frame under a VAE).

    Noise, silence, corrupted audio and unknown voices score high; unreadable files rank first.

    \b
    Example:
      voicegen audit samples/audio --out audit/
    """
    import math

    _refuse_full_folder(out, overwrite)
    path = _vae_path(model)
    from voicegen.audio.stats import list_audio_files
    from voicegen.infer.vae_tools import audit as run_audit
    from voicegen.pathcheck import check_writable
    from voicegen.progress import progress_bar

    check_writable(out, what="output folder")
    vae, _ = _load(path, device)
    total = len(list_audio_files(folder))
    with progress_bar(total=total, unit="file", enabled=not no_progress, desc="audit") as bar:
        rows = run_audit(vae, folder, out, overwrite=overwrite, on_file=lambda _: bar.update())
    click.echo(f"wrote {out / 'audit.csv'} and {out / 'audit.png'}: {len(rows)} clips, most atypical first")
    for rank, row in enumerate(rows[:top], 1):
        score = "unreadable" if not math.isfinite(row.neg_elbo) else f"{row.neg_elbo:8.2f}"
        click.echo(f"{rank:3d}. {score}  {row.path.relative_to(folder)}" + (f"  ({row.error})" if row.error else ""))
