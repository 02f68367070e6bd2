"""``voicegen train ...`` and ``voicegen vocode``: thin commands over voicegen.train and voicegen.infer.

Registered on the main group at the bottom of ``voicegen/cli.py``. Only click is imported here;
torch and the models are imported inside the commands, so ``voicegen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from voicegen.cli_common import (
    already_finished,
    device_option,
    formant_option,
    input_kind,
    load_run,
    refuse_existing,
    run_options,
    runtime_option,
)


def minutes_option(sizes: str):
    """``--minutes N`` of a train command; ``sizes`` says what it sets."""
    return click.option("--minutes", type=click.FloatRange(min=0.1), default=None,
                        help=f"Size the run to this many minutes of this machine: {sizes}. Measured when the run "
                             "starts; the same command resumes an interrupted run to the same step.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def train() -> None:
    """Train a model from a YAML config (checkpoints, logs and the export go to a run folder).

    One command per family: vocoder (mel -> waveform), cyclegan (a voice converter between two
    speakers' folders), vae (a speaker-conditioned spectrogram VAE); the image models train with
    `voicegen image train`. The tiny configs below train for seconds on two folders made from
    the bundled clips (the models learn nothing useful); conf/cpu.yaml is the real thing.
    Running a command again resumes its run; a finished run says so and changes nothing.

    \b
    Examples:
      mkdir -p voices/SF1 voices/TM1 && cp samples/audio/SF1_*.wav voices/SF1/ && cp samples/audio/TM1_*.wav voices/TM1/
      voicegen train vocoder --config recipes/vocoder16k/conf/tiny.yaml --set 'data.train=[voices/SF1, voices/TM1]'
      voicegen train cyclegan --config recipes/vcc2016/conf/tiny.yaml --set data.dir_a=voices/SF1 \\
          --set data.dir_b=voices/TM1
      voicegen train vae --config recipes/vae16k/conf/tiny.yaml --set 'data.speakers={SF1: voices/SF1, TM1: voices/TM1}'
      voicegen image train --help
    """


@train.command("vocoder")
@run_options("vocoder16k", "trainer.max_steps=100", "vocoder")
@click.option("--init-from", default=None, metavar="PATH|NAME",
              help="Start the generator from this exported vocoder (fine-tuning): a folder or an installed name "
                   "such as vocoder16k.")
@minutes_option("trainer.max_steps from the measured step rates (generator-only steps before adversarial_start, "
                "adversarial ones after it)")
def train_vocoder_command(config_path: Path, overrides: tuple[str, ...], run_dir: Path | None,
                          resume: bool | None, init_from: str | None, minutes: float | None,
                          device: str | None) -> None:
    """Train a mel -> waveform GAN vocoder and export it to RUN_DIR/export.

    \b
    Examples:
      voicegen train vocoder --config recipes/vocoder16k/conf/tiny.yaml --set 'data.train=[samples/audio]'
      voicegen vocode samples/audio/SF1_200001.wav copy.wav --model runs/vocoder-tiny/export
      voicegen train vocoder --config recipes/vocoder16k/conf/cpu.yaml --set 'data.train=[my_corpus/]'  # placeholder
      voicegen train vocoder --config recipes/vocoder16k/conf/source_filter.yaml --init-from vocoder16k \
          --set 'data.train=[my_corpus/]' --minutes 30 --run-dir runs/voc_mine  # placeholder
    """
    from voicegen.infer.bundles import find_bundle
    from voicegen.train.vocoder import VocoderTrainConfig, train_vocoder

    config, run_dir, mode = load_run(VocoderTrainConfig, "vocoder", config_path, overrides, device, run_dir, resume)
    if already_finished(run_dir, _planned_steps(run_dir, config.trainer.max_steps, minutes), mode,
                        minutes):
        return
    init_path = find_bundle(init_from) if init_from is not None else None
    export = train_vocoder(config, run_dir, resume=mode, init_from=init_path, minutes=minutes)
    if export is not None:
        click.echo(f"exported vocoder to {export}")


@train.command("cyclegan")
@run_options("vcc2016", "data.dir_a=DIR", "cyclegan")
@click.option("--vocoder", default=None, metavar="PATH|NAME|none",
              help="Vocoder that renders and scores the validation conversions: an export folder or an installed "
                   "bundle's name [default: the --init-from bundle's vocoder, else the installed default vocoder]; "
                   "none: no validation audio.")
@click.option("--init-from", default=None, metavar="PATH|NAME",
              help="Start both generators from this converter bundle (a folder or an installed name such as "
                   "vcc2016_sf1_tm1): a new pair fine-tunes in minutes instead of training from scratch.")
@minutes_option("trainer.max_steps (and schedules given as fractions of it) from a measured step rate")
def train_cyclegan_command(config_path: Path, overrides: tuple[str, ...], run_dir: Path | None,
                           resume: bool | None, vocoder: str | None, init_from: str | None, minutes: float | None,
                           device: str | None) -> None:
    """Train a CycleGAN voice converter between two folders of unpaired speech.

    The bundle (both generators, speaker names, their statistics and the mel contract) is
    exported to RUN_DIR/export. The speakers are named by speaker_a / speaker_b, else by the
    folders' names (a recipe config's names, such as SF1 and TM1 in recipes/vcc2016/conf, apply
    only to the folders that config itself gives).

    \b
    Examples:
      mkdir -p voices/SF1 voices/TM1 && cp samples/audio/SF1_*.wav voices/SF1/ && cp samples/audio/TM1_*.wav voices/TM1/
      voicegen train cyclegan --config recipes/vcc2016/conf/tiny.yaml --set data.dir_a=voices/SF1 \\
          --set data.dir_b=voices/TM1
      voicegen train cyclegan --config recipes/template/conf/cpu.yaml --init-from vcc2016_sf1_tm1 \\
          --set data.dir_a=my_voice/ --set data.dir_b=their_voice/ --minutes 30 --run-dir runs/mine  # placeholder
    """
    from voicegen.infer.bundles import find_bundle
    from voicegen.train.cyclegan import CycleGANTrainConfig, train_cyclegan

    config, run_dir, mode = load_run(CycleGANTrainConfig, "cyclegan", config_path, overrides, device, run_dir,
                                      resume)
    if already_finished(run_dir, _planned_steps(run_dir, config.trainer.max_steps, minutes), mode,
                        minutes):
        return
    _name_speakers(config, config_path, overrides)
    init_path = find_bundle(init_from) if init_from is not None else None
    vocoder_fn = vocoder_f0 = None
    voc = _validation_vocoder(vocoder, init_path)
    if voc is not None:
        from voicegen.infer.vocode import load_vocoder

        loaded = load_vocoder(voc, "cpu")
        loaded.check_contract(config.feature_config)
        vocoder_fn, vocoder_f0 = loaded.wav_from_mel, loaded.f0_config
        click.echo(f"validation vocoder: {voc}")
    export = train_cyclegan(config, run_dir, resume=mode, vocoder_fn=vocoder_fn, vocoder_f0=vocoder_f0,
                            init_from=init_path, minutes=minutes)
    if export is not None:
        click.echo(f"exported converter to {export}")


def _planned_steps(run_dir: Path, max_steps: int, minutes: float | None) -> int:
    """The run's step budget: ``max_steps``, or with --minutes the one its first start measured (saved
    in RUN_DIR/config.yaml), since --minutes sizes a run only when it starts."""
    from voicegen.train.run import saved_max_steps

    saved = saved_max_steps(run_dir) if minutes is not None else None
    return max_steps if saved is None else saved


def _name_speakers(config, config_path: Path, overrides: tuple[str, ...]) -> None:
    """Label the run's two speakers and say how they were named.

    A config's speaker_a / speaker_b describe the folders that config itself gives. The recipe
    configs name SF1 and TM1 but leave data.dir_a / dir_b to --set; pointing those at your own
    folders without naming the speakers would call your model SF1 <-> TM1, so the folders'
    names label it instead (ConfigError asking for speaker_a / speaker_b when they coincide).
    """
    from voicegen.yamlio import load_yaml

    given = {item.split("=", 1)[0].strip() for item in overrides}
    file_data = load_yaml(config_path).get("data") or {}
    from_folders = []
    for side in ("a", "b"):
        name_key = f"speaker_{side}"
        folder_from_cli = f"data.dir_{side}" in given or "data" in given
        if name_key not in given and folder_from_cli and not file_data.get(f"dir_{side}"):
            if getattr(config, name_key) is not None:
                setattr(config, name_key, None)
            from_folders.append(side)
        elif getattr(config, name_key) is None:
            from_folders.append(side)
    name_a, name_b = config.speaker_names()
    how = ("" if not from_folders else
           " (the folders' names; name them with --set speaker_a=NAME --set speaker_b=NAME)")
    click.echo(f"speakers: {name_a} <-> {name_b}{how}")
def _validation_vocoder(vocoder: str | None, init_path: Path | None) -> Path | None:
    """The vocoder of ``train cyclegan --vocoder``: the named one, none, the init bundle's, or the default."""
    from voicegen.errors import VoicegenError
    from voicegen.infer.bundles import default_vocoder, find_bundle, vocoder_path

    if vocoder is not None:
        return None if vocoder.lower() == "none" else find_bundle(vocoder)
    try:
        return vocoder_path(init_path) if init_path is not None else default_vocoder()
    except VoicegenError:
        return None


@train.command("vae")
@run_options("vae16k", "beta=0.5", "vae")
@click.option("--init-from", default=None, metavar="PATH|NAME",
              help="Start from this exported VAE (a folder or an installed name such as vae16k): its weights and "
                   "its normalisation statistics; the speakers must be the same, in the same order.")
@minutes_option("trainer.max_steps (and schedules given as fractions of it: capacity_fraction, decay_start_fraction) "
                "from a measured step rate")
def train_vae_command(config_path: Path, overrides: tuple[str, ...], run_dir: Path | None,
                      resume: bool | None, init_from: str | None, minutes: float | None, device: str | None) -> None:
    """Train a speaker-conditioned spectrogram VAE on folders of several speakers' speech.

    The artifact (weights, model config, mel contract, per-speaker and pooled normalisation
    statistics, speaker names) is exported to RUN_DIR/export.

    \b
    Examples:
      mkdir -p voices/SF1 voices/TM1 && cp samples/audio/SF1_*.wav voices/SF1/ && cp samples/audio/TM1_*.wav voices/TM1/
      voicegen train vae --config recipes/vae16k/conf/tiny.yaml \\
          --set 'data.speakers={SF1: voices/SF1, TM1: voices/TM1}'
      voicegen latent encode samples/audio/SF1_200001.wav --model runs/vae-tiny/export --out z_tiny.npy
      voicegen train vae --config recipes/vae16k/conf/cpu.yaml --init-from vae16k \\
          --set 'data.speakers={SF1: SF1/, TM1: TM1/, LS78: LS78/}' --minutes 30  # placeholder
    """
    from voicegen.infer.bundles import find_bundle
    from voicegen.train.vae import VAETrainConfig, train_vae

    config, run_dir, mode = load_run(VAETrainConfig, "vae", config_path, overrides, device, run_dir, resume)
    if already_finished(run_dir, _planned_steps(run_dir, config.trainer.max_steps, minutes), mode,
                        minutes):
        return
    export = train_vae(config, run_dir, resume=mode, init_from=find_bundle(init_from) if init_from else None,
                       minutes=minutes)
    if export is not None:
        click.echo(f"exported vae to {export}")


@click.command("export")
@click.argument("kind", type=click.Choice(["vocoder", "cyclegan", "vae"]))
@click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Run folder written by `voicegen train KIND`.")
@click.option("--step", type=int, default=None, help="Checkpoint step to export [default: the latest].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Artifact folder to write [default: RUN_DIR/export_step<the step in 8 digits>, e.g. "
                   "RUN_DIR/export_step00000393 for step 393].")
@click.option("--onnx", "with_onnx", is_flag=True,
              help="Also write ONNX graphs (they read their weights from the artifact's safetensors) for the "
                   "torch-free runtime (needs voicegen[onnx]).")
@click.option("--artifact", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="With --onnx: add ONNX graphs to this existing artifact or bundle folder instead of exporting "
                   "a run.")
@click.option("--f0", "f0_settings", multiple=True, metavar="KEY=VALUE",
              help="With --artifact (a pitch-conditioned vocoder) and --overwrite: change how it tracks F0, e.g. "
                   "--f0 voicing_threshold=0.1 --f0 dio_subframes=1 --f0 f0_min=50 (the settings before "
                   "2026-12-06); keys: method, f0_min, f0_max, fill_frames, default_hz, voicing_threshold, "
                   "dio_speed, dio_subframes. Its ONNX graphs, if any, are re-exported to match.")
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact folder (or ONNX graph).")
def export(kind: str, run_dir: Path | None, step: int | None, out: Path | None, with_onnx: bool,
           artifact: Path | None, f0_settings: tuple[str, ...], overwrite: bool) -> None:
    """Export the inference artifact (fp16 safetensors + JSON) of a training run's checkpoint.

    Works while the run is still training, e.g. to listen to an intermediate step. With --onnx a
    vocoder, CycleGAN or VAE also gets ONNX graphs, checked against PyTorch, which `voicegen convert`,
    `vocode` and `stream` run on the CPU without importing torch (--runtime auto or onnx): a
    clip then converts in about a second from the shell instead of five.

    \b
    Examples (a tiny run of 20 steps first; it keeps the checkpoint of its last step):
      voicegen train vocoder --config recipes/vocoder16k/conf/tiny.yaml --set 'data.train=[samples/audio]'
      voicegen export vocoder --run-dir runs/vocoder-tiny
      voicegen export vocoder --run-dir runs/vocoder-tiny --step 20 --out models/voc20
      voicegen vocode samples/audio/SF1_200001.wav voc20.wav --model models/voc20
      voicegen export vocoder --artifact models/voc20 --onnx
      voicegen export vocoder --artifact models/voc20 --f0 voicing_threshold=0.1 --overwrite
    """
    if (run_dir is None) == (artifact is None):
        raise click.UsageError("pass --run-dir (export a run) or --artifact with --onnx (add ONNX to an artifact) "
                               "or --f0 (change its F0 settings)")
    if artifact is not None and not (with_onnx or f0_settings):
        raise click.UsageError("--artifact is only used with --onnx or --f0")
    if f0_settings and (artifact is None or kind != "vocoder"):
        raise click.UsageError("--f0 changes an exported vocoder: pass it with `export vocoder --artifact FOLDER`")
    if f0_settings and not overwrite:
        raise click.UsageError(f"--f0 rewrites {artifact}/artifact.json; add --overwrite to change it")
    from voicegen.pathcheck import check_writable

    check_writable(out if out is not None else (run_dir if run_dir is not None else artifact), what="export")
    if f0_settings:
        from voicegen.formats.vocoder import set_vocoder_f0
        from voicegen.infer.onnx_runtime import ONNX_META

        config = set_vocoder_f0(artifact, list(f0_settings))
        click.echo(f"{artifact}: F0 settings now {config.to_dict()}")
        with_onnx = with_onnx or (artifact / ONNX_META).is_file()
    if run_dir is not None:
        from voicegen.train.export import export_run

        path = export_run(kind, run_dir, out=out, step=step, overwrite=overwrite)
        click.echo(f"exported {kind} to {path}")
    else:
        path = artifact
    if with_onnx:
        from voicegen.artifact_meta import read_artifact_meta
        from voicegen.infer.onnx_export import export_onnx

        found = read_artifact_meta(path).get("kind")
        if found != kind:
            raise click.UsageError(f"{path} holds a {found} artifact, not a {kind}; run `voicegen export {found} "
                                   f"--artifact {path} --onnx`")
        for graph in export_onnx(path, overwrite=overwrite or run_dir is not None):
            click.echo(f"wrote {graph}")


# The batch options of `voicegen vocode` (kept beside the command it serves).
from voicegen.cli_batch import (  # noqa: E402
    BatchOptions,
    batch_options,
    batch_signals,
    check_batch_flags,
    check_writable_outputs,
    finish_batch,
    print_line,
)


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--model", default=None, type=click.Path(path_type=Path),
              help="Exported vocoder folder (e.g. runs/vocoder-tiny/export) or an installed vocoder's name "
                   "[default: the first installed vocoder, see `voicegen models`].")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@device_option("the vocoder")
@runtime_option("the vocoder")
@click.option("--f0-method", type=click.Choice(["dio", "harvest"]), default=None,
              help="F0 tracker of a pitch-conditioned vocoder [default: the one it was trained with]: dio is "
                   "fast; harvest follows voicing through transitions better (lower F0 error) and is ~30x slower.")
@click.option("--pitch", "semitones", type=float, default=0.0, show_default=True,
              help="Move the pitch by this many semitones (F0 scaled by 2^(n/12), spectral envelope kept); "
                   "needs a pitch-conditioned (source_filter) vocoder, such as those of "
                   "recipes/vocoder16k/conf/source_filter.yaml and tiny.yaml.")
@formant_option("the pitch is kept; --pitch moves it separately")
@batch_options
def vocode(source: Path, output: Path, model: Path | None, overwrite: bool, device: str, runtime: str,
           f0_method: str | None, semitones: float, formant: float, batch: BatchOptions) -> None:
    """Turn SOURCE into a waveform at OUTPUT with a trained vocoder.

    SOURCE is audio (copy-synthesis: audio -> mel and F0 -> vocoder), or a .npy made with
    `voicegen features` (a log-mel, plus F0 rows via --f0 for a pitch-conditioned vocoder),
    or a folder, quoted glob or list file (.txt) of them: OUTPUT is then a folder mirroring
    it, with .wav files, written by the batch engine (--jobs workers; running it again skips
    finished files).

    \b
    Examples:
      voicegen vocode samples/audio/SF1_200001.wav copy.wav
      voicegen features samples/audio/SF1_200001.wav --out mel.npy --f0
      voicegen vocode mel.npy mel.wav
      voicegen vocode samples/audio wavs/ --jobs 2
      voicegen train vocoder --config recipes/vocoder16k/conf/tiny.yaml --set 'data.train=[samples/audio]'
      voicegen vocode samples/audio/SF1_200001.wav up4.wav --pitch 4 --model runs/vocoder-tiny/export
      voicegen vocode samples/audio/TM1_200001.wav higher.wav --pitch 9 --formant 3
    """
    many = input_kind(source) != "file"  # arguments first: an error comes before torch and the model
    if many:
        check_batch_flags(batch)
    if not many and not batch.dry_run and not output.is_dir():
        refuse_existing(output, overwrite)
    from voicegen.audio.io import check_audio_file, is_audio_file
    from voicegen.infer.options import VocodeOptions

    options = VocodeOptions(pitch=semitones, f0_method=f0_method, runtime=runtime, formant=formant)
    if not many and is_audio_file(source):
        check_audio_file(source)  # before the vocoder loads
    check_writable_outputs([output], inputs=[] if many else [source], what="output folder" if many else "output")
    from voicegen.infer.bundles import default_vocoder, find_bundle

    model = find_bundle(model) if model is not None else default_vocoder()
    from voicegen.infer.commands import run_vocode

    with batch_signals(many):
        outcome = run_vocode(source, output, options, model=model, device=device, batch=batch, overwrite=overwrite,
                             echo=print_line)
    if many:
        finish_batch(outcome)
    elif outcome is not None:
        click.echo(f"wrote {outcome.out} ({outcome.sample_rate} Hz)")
