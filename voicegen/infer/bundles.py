"""Installed model bundles: where they are searched, how a speaker picks one, and how one is packaged.

A **converter bundle** is the folder ``voicegen train cyclegan`` exports (``artifact.json`` +
``weights.safetensors``, kind ``cyclegan``) with the vocoder export copied into its subfolder
``vocoder/``; instead of the subfolder, ``extra.vocoder`` in its artifact.json may name another
installed bundle of kind ``vocoder``. ``extra.name`` names the bundle (else its folder name does).

Search order (the first folder holding a bundle name wins; later ones with that name are shadowed):

1. ``--model PATH`` (one bundle folder; :func:`resolve` only),
2. ``$VOICEGEN_MODELS``: folders of bundles separated by ``os.pathsep``,
3. the user folder ``$XDG_DATA_HOME/voicegen/models`` (default ``~/.local/share/voicegen/models``),
4. the defaults shipped in the package, ``voicegen/assets/models/``.

Listing and resolving read only JSON (no torch import), so ``voicegen models`` answers quickly;
:func:`package_bundle` loads both models once to verify them and imports torch then.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicegen.artifact_meta import ARTIFACT_META, read_json_object
from voicegen.errors import ArtifactError, ConfigError, VoicegenError
from voicegen.fileutil import atomic_dir, atomic_write_text
from voicegen.formats.cyclegan import KIND as CYCLEGAN_KIND
from voicegen.formats.cyclegan import parse_postfilter
from voicegen.formats.formant import MAX_SEMITONES as MAX_FORMANT_SEMITONES
from voicegen.formats.formant import parse_formant, within_range
from voicegen.formats.framebank import FILE as FRAME_BANK_FILE
from voicegen.formats.framebank import parse_frame_bank
from voicegen.formats.vae import KIND as VAE_KIND
from voicegen.formats.vocoder import KIND as VOCODER_KIND

META_FILE = ARTIFACT_META
CONVERTER_KIND = CYCLEGAN_KIND
# Kinds that `voicegen convert` uses: a two-speaker CycleGAN, or a speaker-conditioned VAE that
# decodes any of its speakers. Resolution by speaker names prefers CycleGANs (trained for the pair).
CONVERTER_KINDS: tuple[str, ...] = (CONVERTER_KIND, VAE_KIND)
VOCODER_SUBDIR = "vocoder"
POSTFILTER_NONE = "none"
"""``voicegen bundle --postfilter none``: drop the converter's post-filter."""
FRAME_BANK_NONE = "none"
"""``voicegen bundle --frame-bank none``: drop the converter's frame bank."""
MAX_BANK_FRAMES = 65536
"""Most frames per speaker ``voicegen bundle --frame-bank`` keeps (~17 min of speech at 16 kHz / hop 256;
matching costs ~0.004 real-time factor per 8 000 frames on one core)."""
ENV_MODELS = "VOICEGEN_MODELS"
ENV_XDG_DATA_HOME = "XDG_DATA_HOME"
USER_MODELS_SUBDIR = Path("voicegen") / "models"
PACKAGE_MODELS_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"
"""Default bundles shipped inside the package (may be empty)."""
IMAGE_MODELS_SUBDIR = "image"
"""The image models shipped with the package live in ``PACKAGE_MODELS_DIR / IMAGE_MODELS_SUBDIR``."""
# Origins, in search order, as shown by `voicegen models`.
ORIGIN_MODEL, ORIGIN_ENV, ORIGIN_USER, ORIGIN_PACKAGE = "--model", f"${ENV_MODELS}", "user", "package"
BUNDLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class BundleWarning(UserWarning):
    """A folder in a search path looks like a bundle but cannot be read; it is skipped."""


@dataclass(frozen=True)
class BundleInfo:
    """What ``artifact.json`` says about one installed bundle (no weights read).

    ``speakers`` is ``(A, B)`` for a converter and ``()`` for a vocoder; ``origin`` is one of
    ``--model``, ``$VOICEGEN_MODELS``, ``user``, ``package``; ``vocoder`` is ``"vocoder/"`` when
    embedded, the name from ``extra.vocoder``, or None when the bundle has none (converters only).
    """

    name: str
    path: Path
    kind: str
    speakers: tuple[str, ...]
    origin: str
    vocoder: str | None = None
    postfilter: str | None = None
    """A CycleGAN bundle's post-filter (the VAE bundle ``extra.postfilter`` names), or None."""
    frame_bank: dict[str, int] | None = None
    """A converter bundle's frame bank: frames per target speaker (``extra.frame_bank``), or None."""
    formant: dict[str, float] | None = None
    """A converter bundle's formant shift per target speaker in semitones (``extra.formant``), or None."""


def describe_kind(info: BundleInfo, listed: list[BundleInfo]) -> str:
    """The kind as `voicegen models` and the web app show it: ``cyclegan + frame bank + vae16k
    post-filter``, ``cyclegan (no vocoder)``, ``vae + frame bank``...; a post-filter missing from
    ``listed`` is marked ``(not installed)``."""
    kind = info.kind if info.kind != CONVERTER_KIND or info.vocoder else f"{info.kind} (no vocoder)"
    if info.frame_bank:
        kind += " + frame bank"
    if info.postfilter:
        installed = any(other.name == info.postfilter and other.kind == VAE_KIND for other in listed)
        kind += f" + {info.postfilter} post-filter" + ("" if installed else " (not installed)")
    if info.formant:
        kind += " + formants " + ", ".join(f"{target} {shift:+g}" for target, shift in sorted(info.formant.items()))
    return kind


def user_models_dir() -> Path:
    """``$XDG_DATA_HOME/voicegen/models``, or ``~/.local/share/voicegen/models`` when it is unset."""
    base = os.environ.get(ENV_XDG_DATA_HOME) or str(Path.home() / ".local" / "share")
    return Path(base) / USER_MODELS_SUBDIR


def search_roots() -> list[tuple[str, Path]]:
    """``(origin, folder)`` pairs in search order (folders may not exist)."""
    roots = [(ORIGIN_ENV, Path(p)) for p in os.environ.get(ENV_MODELS, "").split(os.pathsep) if p.strip()]
    return roots + [(ORIGIN_USER, user_models_dir()), (ORIGIN_PACKAGE, PACKAGE_MODELS_DIR)]


def read_bundle_info(path: str | os.PathLike, origin: str = ORIGIN_MODEL) -> BundleInfo:
    """Read ``path/artifact.json``; one-line ArtifactError naming the path when it is unusable."""
    path = Path(path)
    meta = _read_meta(path)
    kind = meta.get("kind")
    speakers = meta.get("speakers") or []
    extra = meta.get("extra") or {}
    if not isinstance(kind, str) or not isinstance(speakers, list) or not isinstance(extra, dict):
        raise ArtifactError(f"{path / META_FILE}: invalid 'kind', 'speakers' or 'extra'; re-export the model")
    if kind == CONVERTER_KIND and (len(speakers) != 2 or not all(isinstance(s, str) and s for s in speakers)):
        raise ArtifactError(f"{path / META_FILE}: a converter must name two speakers, got {speakers!r}; re-export")
    name = extra.get("name") if isinstance(extra.get("name"), str) and extra.get("name") else path.name
    if kind == VAE_KIND and not all(isinstance(s, str) and s for s in speakers):
        raise ArtifactError(f"{path / META_FILE}: invalid speaker names {speakers!r}; re-export")
    vocoder = None
    if kind in CONVERTER_KINDS:
        if (path / VOCODER_SUBDIR / META_FILE).is_file():
            vocoder = f"{VOCODER_SUBDIR}/"
        elif isinstance(extra.get("vocoder"), str) and extra["vocoder"]:
            vocoder = extra["vocoder"]
    postfilter = extra.get("postfilter") if kind == CONVERTER_KIND else None
    postfilter = postfilter.get("model") if isinstance(postfilter, dict) else None
    bank = extra.get("frame_bank") if kind in CONVERTER_KINDS else None
    bank = bank.get("speakers") if isinstance(bank, dict) else None
    formant = parse_formant(extra, tuple(speakers), path) if kind in CONVERTER_KINDS else {}
    return BundleInfo(name=name, path=path, kind=kind, speakers=tuple(speakers), origin=origin, vocoder=vocoder,
                      postfilter=postfilter if isinstance(postfilter, str) and postfilter else None,
                      frame_bank=dict(bank) if isinstance(bank, dict) and bank else None, formant=formant or None)


def list_bundles(*, on_problem: Callable[[str], None] | None = None,
                 extra: tuple[str | os.PathLike, ...] = ()) -> list[BundleInfo]:
    """Bundles found in the search folders, in search order (by name within a folder).

    ``extra`` (``voicegen models --model PATH``) is searched first: each a bundle folder or a folder
    of bundles. A name already found in an earlier folder is shadowed and left out. A subfolder
    whose artifact.json cannot be read is skipped and reported through ``on_problem`` (default: a
    :class:`BundleWarning`).
    """
    found: dict[str, BundleInfo] = {}
    roots = [(ORIGIN_MODEL, Path(path)) for path in extra] + search_roots()
    for origin, root in roots:
        for info in _bundles_in(root, origin, on_problem):
            found.setdefault(info.name, info)
    return list(found.values())


def list_image_models(*, on_problem: Callable[[str], None] | None = None) -> list[BundleInfo]:
    """The image models shipped with the package (``voicegen image ... --model NAME``), by name."""
    return _bundles_in(PACKAGE_MODELS_DIR / IMAGE_MODELS_SUBDIR, ORIGIN_PACKAGE, on_problem)


def _bundles_in(root: Path, origin: str, on_problem: Callable[[str], None] | None) -> list[BundleInfo]:
    """The bundles in ``root``'s subfolders; for ``--model`` also ``root`` itself when it is one."""
    if origin == ORIGIN_MODEL and (root / META_FILE).is_file():
        folders = [root]
    elif root.is_dir():
        try:
            folders = sorted(p for p in root.iterdir()
                             if p.is_dir() and not p.name.startswith(".") and (p / META_FILE).exists())
        except OSError as err:
            _problem(f"skipped {root}: cannot list it ({err.strerror or err})", on_problem)
            return []
    else:
        if origin == ORIGIN_MODEL:
            raise ArtifactError(f"{root}: not found; pass a model folder or a folder of models")
        return []
    infos = []
    for folder in folders:
        try:
            infos.append(read_bundle_info(folder, origin))
        except VoicegenError as err:  # one unreadable bundle never hides the others
            _problem(f"skipped {folder}: {err}", on_problem)
    return infos


def _problem(message: str, on_problem: Callable[[str], None] | None) -> None:
    """Report a skipped bundle through ``on_problem``, or as a :class:`BundleWarning`."""
    if on_problem is None:
        warnings.warn(message, BundleWarning, stacklevel=4)
    else:
        on_problem(message)


def resolve(target: str, source: str | None = None, model: str | os.PathLike | None = None) -> tuple[Path, str, str]:
    """Pick the converter bundle for ``target`` (and ``source``): ``(bundle path, source, target)``.

    ``model`` is a bundle folder (or the name of an installed bundle); otherwise the installed
    converters holding ``target`` (and ``source`` when given) are candidates and exactly one must
    remain. ``source`` defaults to the bundle's other speaker. ConfigError (one line) for an
    unknown speaker (listing the known ones), an ambiguous choice (listing the candidates), or
    no installed converter.
    """
    if model is not None:
        info = _model_bundle(model)
        if target not in info.speakers:
            raise ConfigError(f"{info.path}: target speaker {target!r} is not in this model "
                              f"(speakers: {', '.join(info.speakers)}){_case_hint(target, info.speakers)}")
        candidates = [info]
    else:
        converters = [b for b in list_bundles() if b.kind in CONVERTER_KINDS and len(b.speakers) >= 2]
        if not converters:
            raise ConfigError(f"no voice-conversion models installed; pass --model PATH, set ${ENV_MODELS}, "
                              f"or put bundles in {user_models_dir()} (see `voicegen models`)")
        known = sorted({s for b in converters for s in b.speakers})
        for role, name in (("target", target), ("source", source)):
            if name is not None and name not in known:
                raise ConfigError(f"unknown {role} speaker {name!r}; known speakers: {', '.join(known)}"
                                  f"{_case_hint(name, known)} (see `voicegen models`)")
        holding = [b for b in converters if target in b.speakers and (source is None or source in b.speakers)]
        # A CycleGAN trained for the pair wins over multi-speaker VAEs that also hold it.
        candidates = [b for b in holding if b.kind == CONVERTER_KIND] or holding
        if not candidates:
            pairs = ", ".join("<->".join(b.speakers) for b in converters)
            raise ConfigError(f"no model converts {source} -> {target}; installed pairs: {pairs}")
        if len(candidates) > 1:
            choices = "; ".join(f"{b.name} ({', '.join(b.speakers)}) at {b.path}" for b in candidates)
            how = "--model PATH" if source is not None else "--model PATH or --source NAME"
            raise ConfigError(f"speaker {target!r} is in several models: {choices}; pass {how} to choose")
    info = candidates[0]
    if source is None:
        others = [s for s in info.speakers if s != target]
        if len(others) > 1:
            raise ConfigError(f"{info.path}: pass --source NAME (one of {', '.join(others)}): it names the "
                              "speaker of the input")
        source = others[0]
    elif source not in info.speakers:
        raise ConfigError(f"{info.path}: source speaker {source!r} is not in this model "
                          f"(speakers: {', '.join(info.speakers)}){_case_hint(source, info.speakers)}")
    if source == target:
        raise ConfigError(f"source and target are both {target!r}; pick two different speakers")
    return info.path, source, target


def vocoder_path(bundle: str | os.PathLike) -> Path:
    """The vocoder folder of a converter bundle: its ``vocoder/`` subfolder, or the installed
    bundle that ``extra.vocoder`` names; ArtifactError (one line) when there is none."""
    info = read_bundle_info(bundle)
    if info.vocoder == f"{VOCODER_SUBDIR}/":
        return info.path / VOCODER_SUBDIR
    if info.vocoder is not None:
        for other in list_bundles():
            if other.name == info.vocoder and other.kind == VOCODER_KIND:
                return other.path
        raise ArtifactError(f"{info.path}: its vocoder {info.vocoder!r} (extra.vocoder) is not installed; "
                            "see `voicegen models`, or embed one with `voicegen bundle`")
    raise ArtifactError(f"{info.path}: this converter has no vocoder (no {VOCODER_SUBDIR}/ subfolder); package one "
                        f"with `voicegen bundle --converter {info.path} --vocoder VOCODER_EXPORT --out DIR`")


def find_bundle(name_or_path: str | os.PathLike) -> Path:
    """A model folder: ``name_or_path`` itself when it exists, else the installed bundle of that name
    (search order as `voicegen models`); ArtifactError (one line) when neither."""
    path = Path(name_or_path)
    if path.exists():
        return path
    named = [b for b in list_bundles() if b.name == str(name_or_path)]
    if not named:
        raise ArtifactError(f"{path}: not found (neither a folder nor an installed bundle name); "
                            "see `voicegen models`")
    return named[0].path


def default_vocoder() -> Path:
    """The vocoder used when none is named: the first installed ``vocoder`` bundle, else the vocoder of
    the first converter bundle that has one (search order as `voicegen models`)."""
    bundles = list_bundles()
    for info in [b for b in bundles if b.kind == VOCODER_KIND] + [b for b in bundles if b.kind in CONVERTER_KINDS]:
        if info.kind == VOCODER_KIND:
            return info.path
        if info.vocoder is not None:
            try:
                return vocoder_path(info.path)
            except ArtifactError:
                continue
    raise ConfigError("no vocoder installed; pass --model PATH (a `voicegen export vocoder` folder)")


def package_bundle(cyclegan_dir: str | os.PathLike, vocoder_dir: str | os.PathLike, out_dir: str | os.PathLike,
                   *, name: str | None = None, overwrite: bool = False, link_vocoder: bool = False,
                   postfilter: str | None = None, postfilter_speakers: dict[str, str] | None = None,
                   frame_bank: dict[str, str | os.PathLike] | str | None = None, frame_bank_k: int | None = None,
                   frame_bank_context: int | None = None, frame_bank_stride: int | None = None,
                   frame_bank_mix: float | None = None, formant: dict[str, float] | None = None,
                   progress: bool = False) -> Path:
    """Copy a ``cyclegan`` export and a ``vocoder`` export into one bundle at ``out_dir``; return it.

    The mel contracts must match (ConfigError naming the differing fields). ``name`` (default:
    ``out_dir``'s folder name) is stored as ``extra.name``. Both models are loaded from the copy
    before it is renamed into place, so a bundle that appears is complete and verified; an
    existing ``out_dir`` is replaced only with ``overwrite``.

    ``link_vocoder``: instead of copying the vocoder, record its bundle name (``extra.vocoder``; its
    ``extra.name`` or folder name) so that several bundles share one installed vocoder bundle.

    ``postfilter``: the name of an installed ``vae`` bundle to record as the CycleGAN's post-filter
    (``extra.postfilter``, :mod:`voicegen.infer.postfilter`), decoding each target as the VAE speaker
    of the same name, or as ``postfilter_speakers[target]``; ``"none"`` drops the converter's
    post-filter; None keeps what the converter has.

    ``frame_bank``: target speaker -> folder of that speaker's recordings: their log-mel frames (every
    ``frame_bank_stride``-th; None: the smallest stride that keeps each speaker within
    :data:`voicegen.infer.framebank.AUTO_BANK_FRAMES`) become the converter's frame bank (``extra.frame_bank``,
    :mod:`voicegen.infer.framebank`), re-drawn by the mean of ``frame_bank_k`` neighbours matched
    on ``frame_bank_context`` frames either side, a share ``frame_bank_mix`` of them in the output (the
    rest: the converter's frame; defaults 8, 1 and 0.7, what the shipped converter uses); ``"none"`` drops the
    converter's frame bank; None keeps what the converter has.

    ``formant``: target speaker -> semitones its conversions' formants move when no ``--formant`` is given
    (``extra.formant``, :mod:`voicegen.formats.formant`; needs a pitch-conditioned vocoder); an empty dict drops
    the converter's; None keeps what the converter has.
    """
    # Imported here: the rest of this module stays free of torch.
    from voicegen.audio.contract import FeatureConfig
    from voicegen.infer.vocode import load_vocoder

    converter, vocoder, out = Path(cyclegan_dir), Path(vocoder_dir), Path(out_dir)
    name = out.name if name is None else name
    if not BUNDLE_NAME.match(name):
        raise ConfigError(f"bundle name {name!r}: use letters, digits, '.', '_' or '-' "
                          "(starting with a letter or digit)")
    converter_meta, vocoder_meta = _read_meta(converter), _read_meta(vocoder)
    if converter_meta.get("kind") not in CONVERTER_KINDS:
        raise ArtifactError(f"{converter}: is a {converter_meta.get('kind')!r} artifact, expected "
                            f"{' or '.join(map(repr, CONVERTER_KINDS))}; pass the converter export folder")
    if vocoder_meta.get("kind") != VOCODER_KIND:
        raise ArtifactError(f"{vocoder}: is a {vocoder_meta.get('kind')!r} artifact, expected {VOCODER_KIND!r}; "
                            "pass the vocoder export folder")
    try:
        converter_mel = FeatureConfig.from_dict(converter_meta.get("mel") or {})
        vocoder_mel = FeatureConfig.from_dict(vocoder_meta.get("mel") or {})
    except ConfigError as err:
        raise ArtifactError(f"invalid mel contract in {converter} or {vocoder} ({err}); re-export it") from None
    differ = converter_mel.diff(vocoder_mel)
    if differ:
        mine, theirs = converter_mel.to_dict(), vocoder_mel.to_dict()
        parts = ", ".join(f"{field} {mine[field]!r} vs {theirs[field]!r}" for field in differ)
        raise ConfigError(f"mel contract mismatch between converter {converter} and vocoder {vocoder}: {parts} "
                          "(converter vs vocoder); use a vocoder trained on the converter's features")
    resolved = out.resolve()
    for source in (converter, vocoder):
        if resolved == source.resolve() or source.resolve() in resolved.parents:
            raise ConfigError(f"{out}: the bundle cannot be written inside its source {source}; choose another --out")
    if out.exists() and not out.is_dir():
        raise ArtifactError(f"{out}: is a file; choose a folder for --out")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ArtifactError(f"{out}: already exists; pass --overwrite (overwrite=True) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    hidden = shutil.ignore_patterns(".*")
    with atomic_dir(out) as tmp:
        shutil.copytree(converter, tmp, ignore=shutil.ignore_patterns(".*", VOCODER_SUBDIR))
        extra = {k: v for k, v in (converter_meta.get("extra") or {}).items() if k != "vocoder"}
        converter_meta["extra"] = {**extra, "name": name}
        if postfilter is not None:
            converter_meta["extra"].pop("postfilter", None)
            if postfilter != POSTFILTER_NONE:
                converter_meta["extra"]["postfilter"] = postfilter_spec(
                    converter, converter_meta, postfilter, postfilter_speakers or {}).to_dict()
        if frame_bank is not None:
            converter_meta["extra"].pop("frame_bank", None)
            (tmp / FRAME_BANK_FILE).unlink(missing_ok=True)
            if frame_bank != FRAME_BANK_NONE:
                converter_meta["extra"]["frame_bank"] = make_frame_bank(
                    converter, converter_meta, converter_mel, tmp, frame_bank, k=frame_bank_k,
                    context=frame_bank_context, stride=frame_bank_stride, mix=frame_bank_mix,
                    progress=progress).to_dict()
        if formant is not None:
            converter_meta["extra"].pop("formant", None)
            if formant:
                converter_meta["extra"]["formant"] = formant_setting(converter, converter_meta, vocoder_meta, formant)
        if link_vocoder:
            converter_meta["extra"]["vocoder"] = read_bundle_info(vocoder).name
        else:
            shutil.copytree(vocoder, tmp / VOCODER_SUBDIR, ignore=hidden)
        atomic_write_text(tmp / META_FILE, json.dumps(converter_meta, indent=2, allow_nan=False) + "\n")
        load_converter(tmp)  # sha256 of the weights, speakers, stats, model shapes
        load_vocoder(vocoder if link_vocoder else tmp / VOCODER_SUBDIR)
    return out


def formant_setting(converter: Path, meta: dict, vocoder_meta: dict, shifts: dict[str, float]) -> dict[str, float]:
    """``extra.formant`` of ``voicegen bundle --formant TARGET=SEMITONES`` (zero shifts left out); ConfigError (one
    line) for a target the converter at ``converter`` (``meta``: its artifact.json) lacks, a shift out of range, or
    a vocoder that takes no F0 (its mel carries the pitch, so the envelope cannot move alone)."""
    targets = meta.get("speakers") or []
    for target, shift in shifts.items():
        if target not in targets:
            raise ConfigError(f"--formant {target}=...: name a speaker of {converter} ({', '.join(targets)})")
        if not within_range(shift):
            raise ConfigError(f"--formant {target}={shift:g}: the shift must be within +-{MAX_FORMANT_SEMITONES:g} "
                              "semitones")
    if (vocoder_meta.get("config") or {}).get("f0") is None:
        raise ConfigError("--formant: the vocoder takes no F0 (a mel-only generator), so a formant shift cannot keep "
                          "the pitch; bundle a pitch-conditioned (source_filter) vocoder")
    return {target: float(shift) for target, shift in shifts.items() if shift}


def make_frame_bank(converter: Path, meta: dict, feature_config, folder: Path, sources: dict[str, str | os.PathLike],
                    *, k: int | None, context: int | None, stride: int | None = None, mix: float | None = None,
                    progress: bool = False):
    """Write the frame bank of ``voicegen bundle --frame-bank TARGET=FOLDER`` into the bundle being made at
    ``folder`` and return its :class:`voicegen.formats.framebank.FrameBankSpec`; ConfigError (one line)
    for a model that is not a converter (CycleGAN or VAE), a target it does not have, or, at an explicit
    ``stride``, a bank too large to match fast (more than ``MAX_BANK_FRAMES`` frames of one speaker; the
    automatic stride, None, keeps each within ``AUTO_BANK_FRAMES``)."""
    from voicegen.formats.framebank import save_frame_bank
    from voicegen.infer.framebank import DEFAULT_CONTEXT, DEFAULT_K, DEFAULT_MIX, bank_frames

    if meta.get("kind") not in CONVERTER_KINDS:
        raise ConfigError(f"{converter}: --frame-bank applies to a converter (CycleGAN or VAE), this is a "
                          f"{meta.get('kind')!r}")
    targets = meta.get("speakers") or []
    unknown = sorted(set(sources) - set(targets))
    if unknown or not sources:
        raise ConfigError(f"--frame-bank {(unknown or [''])[0]}=...: name a speaker of {converter} "
                          f"({', '.join(targets)}) and a folder of its recordings")
    frames = {target: bank_frames(sources[target], feature_config, stride=stride, progress=progress)
              for target in targets if target in sources}
    for target, array in frames.items():
        if stride is not None and len(array) > MAX_BANK_FRAMES:
            minutes = len(array) * stride * feature_config.hop_length / feature_config.sample_rate / 60
            raise ConfigError(f"--frame-bank {target}: {len(array)} frames ({minutes:.0f} min of speech at stride "
                              f"{stride}); more than {MAX_BANK_FRAMES} slow every conversion down: pass "
                              f"--frame-bank-stride {stride * -(-len(array) // MAX_BANK_FRAMES)}")
    return save_frame_bank(frames, folder, k=DEFAULT_K if k is None else k,
                           context=DEFAULT_CONTEXT if context is None else context, n_mels=feature_config.n_mels,
                           mix=DEFAULT_MIX if mix is None else mix)


def postfilter_spec(converter: Path, meta: dict, postfilter: str, speakers: dict[str, str]):
    """The :class:`voicegen.formats.cyclegan.PostFilterSpec` of ``voicegen bundle --postfilter NAME`` on the converter at
    ``converter`` (``meta``: its artifact.json): the converter's targets mapped to
    the installed VAE's speakers (same names unless ``speakers`` says otherwise); ConfigError (one line)
    when NAME is not an installed VAE or no target maps to one of its speakers."""
    from voicegen.formats.cyclegan import PostFilterSpec

    if meta.get("kind") != CONVERTER_KIND:
        raise ConfigError(f"{converter}: --postfilter applies to a CycleGAN converter, this is a {meta.get('kind')!r}")
    vaes = [b for b in list_bundles() if b.name == postfilter and b.kind == VAE_KIND]
    if not vaes:
        raise ConfigError(f"--postfilter {postfilter}: not an installed VAE bundle (see `voicegen models`, kind vae)")
    targets, known = meta.get("speakers") or [], vaes[0].speakers
    unknown = sorted(set(speakers) - set(targets))
    if unknown:
        raise ConfigError(f"--postfilter-speaker {unknown[0]}=...: {unknown[0]!r} is not a speaker of {converter} "
                          f"({', '.join(targets)})")
    mapping = {target: speakers.get(target, target) for target in targets if speakers.get(target, target) in known}
    missing = sorted(v for v in speakers.values() if v not in known)
    if missing or not mapping:
        raise ConfigError(f"--postfilter {postfilter}: has no speaker {', '.join(missing or targets)} (speakers: "
                          f"{', '.join(known)}); map a target with --postfilter-speaker TARGET=VAE_SPEAKER")
    return PostFilterSpec(model=postfilter, speakers=mapping)


def load_converter(path: str | os.PathLike, *, device: str | object = "cpu", runtime: str = "torch",
                   postfilter: bool = True):
    """The converter model of a bundle by its kind: a ``CycleGANBundle`` or a ``VAEBundle`` (both offer
    ``speakers``, ``stats``, ``feature_config``, ``generator(source, target)`` and ``convert_mel``).
    ``runtime`` (auto, torch, onnx): what runs the networks. ``postfilter``: a CycleGAN bundle's
    post-filter (``extra.postfilter``) and any converter's frame bank (``extra.frame_bank``) are loaded
    and applied unless False."""
    meta_json = _read_meta(Path(path))
    kind = meta_json.get("kind")
    if kind == VAE_KIND:
        from voicegen.formats.vae import read_vae_meta
        from voicegen.infer.onnx_runtime import choose_runtime, load_onnx_graphs

        meta = read_vae_meta(path)
        if choose_runtime(runtime, str(device), path, meta.artifact) == "onnx":
            from voicegen.infer.vae_onnx import load_onnx_vae

            vae = load_onnx_vae(path, meta, load_onnx_graphs(path, meta.artifact, "vae"))
        else:
            from voicegen.infer.nets import torch_device
            from voicegen.infer.vae import load_vae_bundle

            vae = load_vae_bundle(path, device=torch_device(device))
        if postfilter:
            vae.frame_bank = load_bank(path, meta_json.get("extra"), vae)
        return vae
    from voicegen.infer.cyclegan import load_cyclegan_bundle

    bundle = load_cyclegan_bundle(path, device=device, runtime=runtime)
    extra = meta_json.get("extra")
    spec = parse_postfilter(extra, bundle.speakers, Path(path)) if postfilter else None
    if spec is not None:
        attach_postfilter(bundle, spec, path, runtime=runtime)
    if postfilter:
        bundle.frame_bank = load_bank(path, extra, bundle)
    return bundle


def load_bank(path: str | os.PathLike, extra, converter):
    """The :class:`voicegen.infer.framebank.FrameBank` that ``extra.frame_bank`` of the converter bundle at
    ``path`` names for the loaded ``converter`` (its speakers, stats, mel contract), or None."""
    spec = parse_frame_bank(extra, tuple(converter.speakers), Path(path))
    if spec is None:
        return None
    from voicegen.formats.framebank import load_frame_bank
    from voicegen.infer.framebank import FrameBank

    frames = load_frame_bank(path, spec, converter.feature_config.n_mels)
    return FrameBank(frames, converter.stats, k=spec.k, context=spec.context, mix=spec.mix)


def attach_postfilter(bundle, spec, path: str | os.PathLike, *, runtime: str = "torch") -> None:
    """Load the VAE that ``spec`` (:class:`voicegen.formats.cyclegan.PostFilterSpec`) names and set it
    as the post-filter of the loaded CycleGAN ``bundle`` found at ``path`` (same device; ``runtime``
    as for the converter). One-line ArtifactError when the VAE is missing or does not fit."""
    from voicegen.infer.postfilter import make_postfilter

    vae_path = postfilter_path(spec.model, path)
    vae = load_converter(vae_path, device=bundle.device, runtime=runtime, postfilter=False)  # its own bank unused
    bundle.postfilter = make_postfilter(spec, path, bundle.feature_config, vae, vae_path)


def postfilter_path(name: str, bundle: str | os.PathLike) -> Path:
    """The installed ``vae`` bundle called ``name`` (search order as `voicegen models`): the post-filter
    of the converter ``bundle``; one-line ArtifactError naming ``bundle`` when there is none."""
    for info in list_bundles():
        if info.name == name and info.kind == VAE_KIND:
            return info.path
    raise ArtifactError(f"{bundle}: its post-filter {name!r} (extra.postfilter) is not an installed VAE bundle; "
                        "see `voicegen models`, or convert with --no-postfilter")


def _read_meta(path: Path) -> dict:
    """The parsed artifact.json of the folder ``path``; ArtifactError (one line) otherwise."""
    if not path.is_dir():
        what = "is a file" if path.exists() else "not found"
        raise ArtifactError(f"{path}: {what}; pass a model folder (the one holding {META_FILE})")
    meta_path = path / META_FILE
    if not meta_path.exists():
        raise ArtifactError(f"{path}: no {META_FILE}; this is not a voicegen model folder")
    return read_json_object(meta_path)  # bounded: a crafted file is one ArtifactError


def _model_bundle(model: str | os.PathLike) -> BundleInfo:
    """``--model``: a converter folder, or the name of an installed bundle when no such folder exists."""
    path = Path(model)
    if not path.exists():
        named = [b for b in list_bundles() if b.name == str(model)]
        if not named:
            raise ArtifactError(f"{path}: not found (neither a folder nor an installed bundle name); "
                                "see `voicegen models`")
        path = named[0].path
    info = read_bundle_info(path)
    if info.kind not in CONVERTER_KINDS:
        raise ArtifactError(f"{path}: is a {info.kind!r} model, expected a converter bundle "
                            f"({' or '.join(map(repr, CONVERTER_KINDS))})")
    return info


def _case_hint(name: str, known: tuple[str, ...] | list[str]) -> str:
    same = [k for k in known if k.lower() == name.lower() and k != name]
    return f" (did you mean {same[0]!r}?)" if same else ""
