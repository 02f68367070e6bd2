"""``voicegen convert``, ``voicegen models`` and ``voicegen bundle``: thin commands over voicegen.infer.

Registered on the main group at the bottom of ``voicegen/cli.py``. Only click is imported here;
torch and the models are imported inside the commands, so ``voicegen --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from voicegen.cli_batch import (
    BatchOptions,
    batch_options,
    batch_signals,
    check_batch_flags,
    check_writable_outputs,
    finish_batch,
    print_line,
)
from voicegen.cli_common import (
    device_option,
    formant_option,
    frame_bank_mix_option,
    input_kind,
    postfilter_option,
    refuse_existing,
    runtime_option,
)

DEFAULT_OUT_TEMPLATE = "{stem}_to_{target}"
TABLE_COLUMNS = ("name", "speakers", "kind", "runtime", "origin", "path")
TABLE_GAP = "  "


@click.command()
@click.option("--src", "src", required=True, type=click.Path(path_type=Path),
              help="Audio file (wav, flac, ogg, mp3...), a folder of them, a quoted glob ('clips/**/*.flac') or "
                   "a list file (.txt, one path per line), spoken by the source speaker.")
@click.option("--target", required=True, help="Speaker to convert into (see `voicegen models`).")
@click.option("--source", default=None,
              help="Speaker of --src [default: the target's partner in the model that holds the target].")
@click.option("--model", default=None,
              help="Converter bundle folder, or an installed bundle's name [default: found from the speakers, "
                   "see `voicegen models`].")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Output file, or folder for a folder/glob/list --src [default: ./<src stem>_to_<target>.wav, "
                   "or the folder ./<src name>_to_<target>].")
@click.option("--pitch", default="auto", show_default=True, metavar="auto|none|SEMITONES",
              help="auto: move the source's F0 to the target's (log-Gaussian transform of the two speakers' "
                   "log-F0 statistics); none: keep the source's F0 (singing, same-gender pairs); a number: "
                   "auto plus that many semitones.")
@click.option("--f0-method", type=click.Choice(["dio", "harvest"]), default=None,
              help="F0 tracker [default: the vocoder's]: dio is fast; harvest follows voicing through "
                   "transitions better and is ~30x slower.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Also save the source and converted spectrograms side by side to this PNG "
                   "(a folder for a folder --src).")
@formant_option("the F0 that --pitch gives is kept", model_default=True)
@postfilter_option()
@frame_bank_mix_option()
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@device_option("the models")
@runtime_option()
@batch_options
def convert(src: Path, target: str, source: str | None, model: str | None, out: Path | None, pitch: str,
            f0_method: str | None, plot: Path | None, formant: float | None, no_postfilter: bool,
            frame_bank_mix: float | None, overwrite: bool, device: str, runtime: str, batch: BatchOptions) -> None:
    """Convert speech in SRC into the TARGET speaker's voice.

    The model is found from the speaker names: the bundle that holds --target (with
    --source, when given) among --model, $VOICEGEN_MODELS, the user folder and the
    package's defaults. A folder (glob, list file) --src is converted into a mirrored
    folder of .wav files by the batch engine: --jobs worker processes, a manifest
    (voicegen_manifest.jsonl) so that running the same command again skips finished
    files, and files that fail are reported while the others continue (exit status 1 if
    any failed).

    \b
    Examples:
      voicegen convert --src samples/audio/SF1_200001.wav --target TM1
      voicegen convert --src samples/audio/TM1_200001.wav --target SF1 --pitch none --out back.wav --plot back.png
      voicegen convert --src samples/audio/78-368-0000.flac --target SF1 --source LS78 --model vae16k
      voicegen convert --src samples/audio/SF1_200001.wav --target TM1 --frame-bank-mix 1 --out closer.wav
      voicegen convert --src 'samples/audio/*_2*.wav' --target TM1 --out converted/ --jobs 2
    """
    from voicegen.infer.batch.inputs import input_stem
    from voicegen.infer.bundles import read_bundle_info, resolve
    from voicegen.infer.options import ConvertOptions

    # Everything that can be checked without torch comes first: a wrong path, speaker or an
    # existing output answers at once instead of after the model has loaded.
    many = input_kind(src) != "file"
    if many:
        check_batch_flags(batch)
    bundle, source, target = resolve(target, source, model)
    options = ConvertOptions(source=source, target=target, pitch=pitch, f0_method=f0_method, plot=plot,
                             runtime=runtime, no_postfilter=no_postfilter, frame_bank_mix=frame_bank_mix,
                             formant=formant)
    if out is None:
        out = Path(DEFAULT_OUT_TEMPLATE.format(stem=input_stem(src), target=target) + ("" if many else ".wav"))
    if not many and not batch.dry_run:
        refuse_existing(out, overwrite)
        refuse_existing(plot, overwrite)
    # Before the models load: an input refused by its header, outputs that cannot be written or that
    # are the input itself.
    if not many:
        from voicegen.audio.io import check_audio_file

        check_audio_file(src)
    check_writable_outputs([out, plot], inputs=[] if many else [src], what="output folder" if many else "output")
    info = read_bundle_info(bundle)

    from voicegen.infer.commands import run_convert

    def loaded(converter) -> None:
        _, plan = converter.pitch_plan(source, target, options.pitch)
        where = "ONNX Runtime, cpu" if converter.runtime == "onnx" else converter.vocoder.device
        click.echo(f"model: {info.name} ({bundle}), {source} -> {target}, on {where}")
        click.echo(f"pitch: {plan}")
        for step in converter.postprocessing(target):
            click.echo(f"{step}; --no-postfilter skips it")
        formant_line = converter.formant_plan(target, options.formant)
        if formant_line:
            click.echo(formant_line)

    with batch_signals(many):
        outcome = run_convert(src, out, options, bundle=bundle, device=device, batch=batch, overwrite=overwrite,
                              echo=print_line, on_loaded=loaded)
    if many:
        finish_batch(outcome)
    elif outcome is not None:
        click.echo(f"wrote {outcome.out}: {outcome.seconds:.2f} s at {outcome.sample_rate} Hz "
                   f"(RTF {outcome.rtf:.3f})" + (f", plot {outcome.plot}" if outcome.plot else ""))


@click.command()
@click.option("--model", "models_paths", multiple=True, type=click.Path(path_type=Path),
              help="Also list this bundle folder, or the bundles in this folder, first (as `voicegen convert "
                   "--model PATH` would find them); repeatable.")
def models(models_paths: tuple[Path, ...]) -> None:
    """List the installed voice models (name, speakers, kind, runtime, origin, path), then the image models.

    A converter's kind also names its frame bank and post-filter, if any ("cyclegan + frame bank + vae16k
    post-filter").

    Voice bundles are searched in order: --model PATH, $VOICEGEN_MODELS (folders separated by
    ':'), the user folder ($XDG_DATA_HOME/voicegen/models or ~/.local/share/voicegen/models),
    the package's defaults; a name found earlier shadows later ones. The image models shipped
    with the package follow (`voicegen image ... --model NAME`; the "speakers" column holds
    their classes or domains).

    \b
    Examples:
      voicegen models
      voicegen bundle --converter vcc2016_sf1_tm1 --link-vocoder vocoder16k_vc --out models/sf1_tm1
      voicegen models --model models/
    """
    from voicegen.infer.bundles import describe_kind, list_bundles, list_image_models, search_roots

    problems: list[str] = []
    found = list_bundles(on_problem=problems.append, extra=models_paths)
    images = list_image_models(on_problem=problems.append)
    for problem in problems:
        click.echo(f"Warning: {problem}", err=True)
    if not found:
        searched = ", ".join(f"{path} ({origin})" for origin, path in search_roots())
        click.echo(f"no models installed; searched {searched}. Package a trained converter with "
                   "`voicegen bundle` into one of these folders, or pass --model PATH to `voicegen convert`.")
    rows = [TABLE_COLUMNS]
    for info in found:
        rows.append((info.name, ", ".join(info.speakers) or "-", describe_kind(info, found), _runtime(info, found),
                     info.origin, str(info.path)))
    for info in images:
        rows.append((info.name, _image_labels(info.path), info.kind, "torch", info.origin, str(info.path)))
    if len(rows) == 1:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS) - 1)]
    for row in rows:
        click.echo(TABLE_GAP.join([cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]))


def _runtime(info, listed) -> str:
    """``onnx`` when the bundle, its vocoder (embedded, or a linked bundle among ``listed``) and its
    post-filter carry up-to-date ONNX graphs, so that `--runtime auto` runs it without torch on a
    CPU; else ``torch`` (from the JSON files only: quick)."""
    from voicegen.artifact_meta import read_artifact_meta
    from voicegen.errors import VoicegenError
    from voicegen.infer.bundles import VOCODER_KIND, VOCODER_SUBDIR
    from voicegen.infer.onnx_runtime import onnx_status

    folders = [info.path]
    if info.kind != VOCODER_KIND and info.vocoder is not None:
        linked = {other.name: other.path for other in listed}
        vocoder = info.path / VOCODER_SUBDIR if info.vocoder.rstrip("/") == VOCODER_SUBDIR else linked.get(info.vocoder)
        if vocoder is None:
            return "torch"
        folders.append(vocoder)
    if info.postfilter:
        postfilter = next((other.path for other in listed if other.name == info.postfilter), None)
        if postfilter is None:
            return "torch"
        folders.append(postfilter)
    try:
        ready = all(onnx_status(folder, read_artifact_meta(folder)) is None for folder in folders)
    except VoicegenError:
        ready = False
    return "onnx" if ready else "torch"


def _image_labels(path: Path) -> str:
    """What an image model's artifact.json names: its classes (``0-9``) or its two domains (``mnist <-> uci``)."""
    from voicegen.artifact_meta import ARTIFACT_META, read_json_object

    extra = read_json_object(path / ARTIFACT_META).get("extra") or {}
    classes, domains = extra.get("classes"), extra.get("domains")
    if isinstance(domains, list) and len(domains) == 2:
        return f"{domains[0]} <-> {domains[1]}"
    if isinstance(classes, list) and classes:
        return f"classes {classes[0]}-{classes[-1]}" if len(classes) > 2 else f"classes {', '.join(classes)}"
    return "-"


class BankStride(click.ParamType):
    """``--frame-bank-stride``: a whole number 1-100, or ``auto`` (None)."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return None
        if not text.isdigit() or not 1 <= int(text) <= 100:
            self.fail(f"{value!r} is not a whole number from 1 to 100 or auto", param, ctx)
        return int(text)


def target_pair(item: str, option: str, expected: str) -> tuple[str, str]:
    """``TARGET=VALUE`` of a repeatable ``voicegen bundle`` option -> ``(TARGET, VALUE)``; UsageError naming
    ``option`` and the ``expected`` shape when either side is empty or there is no ``=``."""
    target, sep, value = item.partition("=")
    if not sep or not target or not value:
        raise click.UsageError(f"{option} {item!r}: expected {expected}")
    return target, value


def frame_bank_sources(items: tuple[str, ...]) -> dict[str, str] | str | None:
    """``--frame-bank TARGET=FOLDER`` (repeatable) or ``none`` -> what :func:`voicegen.infer.bundles.package_bundle`
    takes (None when not given); UsageError for a malformed item."""
    from voicegen.infer.bundles import FRAME_BANK_NONE

    if not items:
        return None
    if FRAME_BANK_NONE in items:
        if len(items) > 1:
            raise click.UsageError("--frame-bank none drops the frame bank; do not combine it with TARGET=FOLDER")
        return FRAME_BANK_NONE
    sources: dict[str, str] = {}
    for item in items:
        target, folder = target_pair(item, "--frame-bank", "TARGET=FOLDER (or none)")
        if target in sources:
            raise click.UsageError(f"--frame-bank: {target} is given twice")
        sources[target] = folder
    return sources


def formant_settings(items: tuple[str, ...]) -> dict[str, float] | None:
    """``--formant TARGET=SEMITONES`` (repeatable) or ``none`` -> what :func:`voicegen.infer.bundles.package_bundle`
    takes (None when not given, ``{}`` for none); UsageError for a malformed item."""
    if not items:
        return None
    if "none" in items:
        if len(items) > 1:
            raise click.UsageError("--formant none drops the formant settings; do not combine it with TARGET=SEMITONES")
        return {}
    shifts: dict[str, float] = {}
    for item in items:
        target, value = target_pair(item, "--formant", "TARGET=SEMITONES (or none)")
        if target in shifts:
            raise click.UsageError(f"--formant: {target} is given twice")
        try:
            shifts[target] = float(value)
        except ValueError:
            raise click.UsageError(f"--formant {item!r}: expected TARGET=SEMITONES, a number (or none)") from None
    return shifts


@click.command()
@click.option("--converter", required=True, metavar="PATH|NAME",
              help="Exported converter folder (e.g. runs/cyclegan-tiny/export), or an installed bundle's name.")
@click.option("--vocoder", default=None, metavar="PATH|NAME",
              help="Exported vocoder folder with the same mel settings (e.g. runs/vocoder-tiny/export), or an "
                   "installed vocoder's name; copied into the bundle.")
@click.option("--link-vocoder", default=None, metavar="NAME",
              help="Instead of --vocoder: refer to the installed vocoder bundle NAME (see `voicegen models`, e.g. "
                   "vocoder16k_vc, the one tuned on converters' outputs) without copying it; it must stay installed where "
                   "`voicegen models` finds it.")
@click.option("--postfilter", default=None, metavar="NAME|none",
              help="Record the installed VAE bundle NAME (e.g. vae16k) as the converter's post-filter: each "
                   "converted mel is encoded and decoded as the target speaker of the same name in that VAE; "
                   "none drops it [default: keep the converter's].")
@click.option("--postfilter-speaker", "postfilter_speakers", multiple=True, metavar="TARGET=VAE_SPEAKER",
              help="With --postfilter: decode TARGET as this VAE speaker (when the names differ); repeatable.")
@click.option("--frame-bank", "frame_banks", multiple=True, metavar="TARGET=FOLDER|none",
              help="Give the converter (CycleGAN or VAE) a frame bank: the log-mel frames of TARGET's recordings "
                   "in FOLDER; each frame converted into TARGET is then re-drawn from its nearest bank frames "
                   "(before a post-filter); repeatable; none drops it [default: keep the converter's].")
@click.option("--frame-bank-k", type=click.IntRange(1, 64), default=None,
              help="With --frame-bank: bank frames averaged per converted frame [default: 8].")
@click.option("--frame-bank-context", type=click.IntRange(0, 8), default=None,
              help="With --frame-bank: frames either side matched along with each frame [default: 1].")
@click.option("--frame-bank-stride", type=BankStride(), default=None, metavar="N|auto",
              help="With --frame-bank: keep every N-th frame of the recordings (a smaller bank); auto: the smallest "
                   "N that keeps each speaker within 16384 frames, ~4.4 min of speech [default: auto].")
@click.option("--frame-bank-mix", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="With --frame-bank: share of the re-drawn frame in the output (the rest is the converter's) "
                   "[default: 0.7].")
@click.option("--formant", "formants", multiple=True, metavar="TARGET=SEMITONES|none",
              help="Move the formants of every conversion into TARGET by SEMITONES (within +-12) unless `voicegen "
                   "convert --formant` says otherwise (e.g. a shift that scored better for that pair); repeatable; "
                   "needs a pitch-conditioned vocoder; none drops them [default: keep the converter's].")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Bundle folder to write, e.g. ~/.local/share/voicegen/models/sf1_tm1.")
@click.option("--name", default=None, help="Bundle name shown by `voicegen models` [default: the --out folder name].")
@click.option("--overwrite", is_flag=True, help="Replace an existing bundle folder.")
@click.option("--onnx", "with_onnx", is_flag=True,
              help="Also export ONNX graphs of the converter and of a copied vocoder (checked against PyTorch), "
                   "so that `voicegen convert` runs the bundle without torch (needs voicegen[onnx]).")
def bundle(converter: str, vocoder: str | None, link_vocoder: str | None, postfilter: str | None,
           postfilter_speakers: tuple[str, ...], frame_banks: tuple[str, ...], frame_bank_k: int | None,
           frame_bank_context: int | None, frame_bank_stride: int | None, frame_bank_mix: float | None,
           formants: tuple[str, ...], out: Path, name: str | None, overwrite: bool, with_onnx: bool) -> None:
    """Package a converter and a vocoder into one bundle folder for `voicegen convert`.

    The mel settings of both must match; both are loaded from the copy to verify it before
    it appears at --out.

    \b
    Examples:
      voicegen bundle --converter vcc2016_sf1_tm1 --link-vocoder vocoder16k_vc --out models/sf1_tm1
      voicegen convert --src samples/audio/SF1_200001.wav --target TM1 --model models/sf1_tm1 --out linked.wav
      voicegen bundle --converter vcc2016_sf1_tm1 --vocoder vocoder16k_vc --out models/sf1_tm1_copy
      voicegen bundle --converter vcc2016_sf1_tm1 --vocoder vocoder16k_vc --out models/sf1_tm1_onnx --onnx
      voicegen bundle --converter vcc2016_sf1_tm1 --link-vocoder vocoder16k_vc --postfilter none --out models/raw
      voicegen bundle --converter vcc2016_sf1_tm1 --link-vocoder vocoder16k_vc --frame-bank none --out models/nobank
      voicegen bundle --converter vcc2016_sf1_tm1 --link-vocoder vocoder16k_vc --formant TM1=-0.5 --out models/deeper

    A trained pair: `voicegen bundle --converter runs/cyclegan-tiny/export --vocoder
    runs/vocoder-tiny/export --out DIR` (the run folders of the `voicegen train --help` examples).
    """
    if (vocoder is None) == (link_vocoder is None):
        raise click.UsageError("pass --vocoder FOLDER (copied into the bundle) or --link-vocoder NAME (an installed "
                               "vocoder bundle)")
    mapping = {}
    for item in postfilter_speakers:
        target_name, vae_speaker = target_pair(item, "--postfilter-speaker", "TARGET=VAE_SPEAKER")
        mapping[target_name] = vae_speaker
    from voicegen.infer.bundles import FRAME_BANK_NONE, POSTFILTER_NONE

    if mapping and postfilter in (None, POSTFILTER_NONE):
        raise click.UsageError("--postfilter-speaker needs --postfilter NAME")
    frame_bank = frame_bank_sources(frame_banks)
    formant = formant_settings(formants)
    if (frame_bank in (None, FRAME_BANK_NONE)
            and (frame_bank_k, frame_bank_context, frame_bank_stride, frame_bank_mix) != (None, None, None, None)):
        raise click.UsageError("--frame-bank-k, --frame-bank-context, --frame-bank-stride and --frame-bank-mix need "
                               "--frame-bank TARGET=FOLDER")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        refuse_existing(out, overwrite)
    check_writable_outputs([out], what="bundle folder")
    from voicegen.infer.bundles import VOCODER_KIND, find_bundle, package_bundle, read_bundle_info

    converter_path = find_bundle(converter)
    vocoder_path = find_bundle(link_vocoder if link_vocoder is not None else vocoder)
    if link_vocoder is not None and read_bundle_info(vocoder_path).kind != VOCODER_KIND:
        raise click.ClickException(f"--link-vocoder {link_vocoder}: {vocoder_path} is not a vocoder bundle; see "
                                   "`voicegen models` (kind vocoder)")
    path = package_bundle(converter_path, vocoder_path, out, name=name, overwrite=overwrite,
                          link_vocoder=link_vocoder is not None, postfilter=postfilter, postfilter_speakers=mapping,
                          frame_bank=frame_bank, frame_bank_k=frame_bank_k, frame_bank_context=frame_bank_context,
                          frame_bank_stride=frame_bank_stride, frame_bank_mix=frame_bank_mix, formant=formant,
                          progress=True)
    info = read_bundle_info(path)
    how = f"using the installed vocoder {info.vocoder!r}" if link_vocoder else "with its vocoder"
    if info.postfilter:
        how += f", post-filter {info.postfilter!r}"
    if info.frame_bank:
        how += ", frame bank of " + ", ".join(f"{target} ({count} frames)" for target, count in info.frame_bank.items())
    if info.formant:
        how += ", formants " + ", ".join(f"{target} {shift:+g} semitones" for target, shift in info.formant.items())
    click.echo(f"wrote bundle {info.name} at {path}: {' <-> '.join(info.speakers)} {how}")
    if with_onnx:
        from voicegen.infer.bundles import VOCODER_SUBDIR
        from voicegen.infer.onnx_export import export_onnx

        for folder in [path] + ([] if link_vocoder else [path / VOCODER_SUBDIR]):
            graphs = export_onnx(folder, overwrite=True)
            click.echo(f"wrote {len(graphs)} ONNX graph{'s' if len(graphs) > 1 else ''} in {folder}")
