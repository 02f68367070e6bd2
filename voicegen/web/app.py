"""``voicegen serve``: a local web app over the same converters, vocoders and scoring as the CLI.

    app = create_app(WebSettings(max_duration=300))   # a Flask app; `voicegen serve` runs it
    app.run("127.0.0.1", 7860, threaded=True)

Flask (a small, well-kept WSGI framework, ~0.1 s to import) rather than Gradio: the page is one
HTML file with plain JavaScript (upload or record, pick the model, speakers and pitch mode,
convert, play, download, spectrograms side by side; tabs to vocode and to score two files),
the whole app adds a few MB to the slim install, and it starts in well under a second on ONNX
Runtime. JSON API (what the page calls):

* ``GET /api/models``: the converter bundles (name, kind, speakers, post-filter, frame bank, and the
  description `voicegen models` prints as the kind) and vocoders of `voicegen models`;
* ``POST /api/convert`` (multipart: ``audio``, ``model``, ``source``, ``target``, ``pitch``, and
  ``postfilter``: ``on``, the default, or ``off`` to leave out the frame bank and post-filter as
  ``--no-postfilter`` does; ``frame_bank_mix``: 0-1 as ``--frame-bank-mix``, empty for the model's own;
  ``formant``: semitones as ``--formant``, empty for the model's setting for the target; the answer's ``postprocessing`` lists what ran),
  ``POST /api/vocode`` (``audio``, ``model``, ``pitch``, ``formant``), ``POST /api/eval`` (``converted``,
  ``reference``): ``{"audio": url, "plot": url, ...}`` or ``{"metrics": {...}}``; a bad request
  gets ``{"error": one line}`` with status 400 (413 for an upload over ``max_bytes``);
* ``GET /files/<job>/<name>``: a result.

Uploads and results live in one temporary folder (removed when the app is closed, and the
oldest jobs beyond ``keep_jobs`` as new ones come); nothing is written elsewhere. Requests run one
at a time, in arrival order (a lock; Flask serves each request on its own thread), so several
requests at once are queued, not lost. Models load once and stay loaded.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicegen.errors import VoicegenError, user_message

PAGE = Path(__file__).resolve().parent.parent / "assets" / "web" / "index.html"
UPLOAD_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".m4a", ".webm")
DEFAULT_MAX_DURATION = 300.0
DEFAULT_MAX_BYTES = 64 << 20


@dataclass(frozen=True)
class WebSettings:
    """``max_duration`` seconds per upload, ``max_bytes`` per request, ``device`` and ``runtime`` of the
    models (as `voicegen convert`), ``keep_jobs`` results kept before the oldest are removed."""

    max_duration: float = DEFAULT_MAX_DURATION
    max_bytes: int = DEFAULT_MAX_BYTES
    device: str = "cpu"
    runtime: str = "auto"
    keep_jobs: int = 50


class Workspace:
    """The app's temporary folder: one subfolder per job, the oldest removed beyond ``keep``."""

    def __init__(self, keep: int) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="voicegen-serve-"))
        self.keep = keep
        self._jobs: list[Path] = []

    def job(self) -> Path:
        folder = self.root / uuid.uuid4().hex[:12]
        folder.mkdir()
        self._jobs.append(folder)
        while len(self._jobs) > self.keep:
            shutil.rmtree(self._jobs.pop(0), ignore_errors=True)
        return folder

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class Models:
    """Converters and vocoders loaded on first use and kept (by bundle path)."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._loaded: dict[tuple[str, str], Any] = {}

    def catalogue(self) -> dict[str, list[dict[str, Any]]]:
        from voicegen.infer.bundles import CONVERTER_KINDS, VOCODER_KIND, describe_kind, list_bundles

        bundles = list_bundles(on_problem=lambda message: None)
        return {"converters": [{"name": b.name, "kind": b.kind, "speakers": list(b.speakers), "postfilter": b.postfilter,
                                "frame_bank": b.frame_bank, "description": describe_kind(b, bundles)}
                               for b in bundles if b.kind in CONVERTER_KINDS],
                "vocoders": [{"name": b.name} for b in bundles if b.kind == VOCODER_KIND]}

    def converter(self, name: str, postfilter: bool = True) -> Any:
        """The bundle ``name`` loaded (once per name and ``postfilter``: with or without its frame bank and
        post-filter, as ``voicegen convert [--no-postfilter]``)."""
        from voicegen.infer.bundles import find_bundle
        from voicegen.infer.convert import Converter

        path = find_bundle(name)
        key = ("convert", str(path), postfilter)
        if key not in self._loaded:
            self._loaded[key] = Converter(path, self.settings.device, runtime=self.settings.runtime,
                                          postfilter=postfilter)
        return self._loaded[key]

    def vocoder(self, name: str) -> Any:
        from voicegen.infer.bundles import find_bundle
        from voicegen.infer.vocode import load_vocoder

        path = find_bundle(name)
        key = ("vocode", str(path))
        if key not in self._loaded:
            self._loaded[key] = load_vocoder(path, self.settings.device, self.settings.runtime)
        return self._loaded[key]


class RequestError(VoicegenError):
    """A request the app refuses: shown in the page as one line."""


def create_app(settings: WebSettings = WebSettings()):
    """The Flask app (its ``workspace`` attribute is the temporary folder; call ``app.close()`` at the end)."""
    from flask import Flask, abort, jsonify, request, send_file

    app = Flask("voicegen", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_bytes
    workspace = Workspace(settings.keep_jobs)
    models = Models(settings)
    queue = threading.Lock()
    app.workspace = workspace  # type: ignore[attr-defined]
    app.close = workspace.close  # type: ignore[attr-defined]

    @app.errorhandler(413)
    def too_large(_error):
        return jsonify(error=f"upload larger than {settings.max_bytes / 2**20:.0f} MB; send a shorter clip"), 413

    @app.errorhandler(VoicegenError)  # RequestError too
    def refused(error):
        return jsonify(error=user_message(str(error))), 400

    @app.get("/")
    def page():
        return PAGE.read_text(encoding="utf-8"), 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/api/models")
    def catalogue():
        return jsonify(models.catalogue())

    @app.post("/api/convert")
    def convert():
        form = request.form
        with queue:
            job = workspace.job()
            src = _upload(request.files.get("audio"), job, "input", settings)
            converter = models.converter(_field(form, "model"), _switch(form, "postfilter"))
            converter.set_frame_bank_mix(_share(form.get("frame_bank_mix", ""), "frame_bank_mix"))
            source, target = _field(form, "source"), _field(form, "target")
            pitch = form.get("pitch", "auto") or "auto"
            _, plan = converter.pitch_plan(source, target, pitch)
            out = job / "converted.wav"
            plot = job / "spectrograms.png" if _can_plot() else None
            formant = _number(form["formant"], "formant") if form.get("formant", "") != "" else None
            started = time.perf_counter()
            result = converter.convert_file(src, out, source, target, pitch=pitch, plot=plot, formant=formant)
            return jsonify(audio=f"/files/{job.name}/{out.name}", plot=f"/files/{job.name}/{plot.name}" if plot else None,
                           seconds=result.seconds, compute_seconds=time.perf_counter() - started,
                           runtime=converter.runtime, pitch=plan, source=source, target=target,
                           postprocessing=converter.postprocessing(target) + [
                               line for line in [converter.formant_plan(target, formant)] if line])

    @app.post("/api/vocode")
    def vocode():
        from voicegen.infer.vocode import check_pitch_knob, vocode_file

        with queue:
            job = workspace.job()
            src = _upload(request.files.get("audio"), job, "input", settings)
            vocoder = models.vocoder(_field(request.form, "model"))
            semitones = _number(request.form.get("pitch", "0") or "0", "pitch")
            formant = _number(request.form.get("formant", "0") or "0", "formant")
            check_pitch_knob(vocoder, semitones)
            out = vocode_file(src, job / "vocoded.wav", vocoder, semitones=semitones, formant=formant)
            return jsonify(audio=f"/files/{job.name}/{out.name}", runtime=vocoder.runtime)

    @app.post("/api/eval")
    def evaluate():
        with queue:
            job = workspace.job()
            converted = _upload(request.files.get("converted"), job, "converted", settings)
            reference = _upload(request.files.get("reference"), job, "reference", settings)
            return jsonify(metrics=_score(converted, reference))

    @app.get("/files/<job>/<name>")
    def files(job: str, name: str):
        path = workspace.root / job / name
        if not (job.isalnum() and name in ("converted.wav", "vocoded.wav", "spectrograms.png") and path.is_file()):
            abort(404)
        return send_file(path, as_attachment=request.args.get("download") == "1", download_name=name)

    return app


def _field(form, name: str) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise RequestError(f"missing {name}; choose one in the page")
    return value


def _switch(form, name: str) -> bool:
    """An ``on``/``off`` field (missing or empty = on)."""
    value = (form.get(name) or "on").strip().lower()
    if value not in ("on", "off"):
        raise RequestError(f"{name} must be on or off, got {value!r}")
    return value == "on"


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RequestError(f"{name} must be a number of semitones, got {text!r}") from None


def _share(text: str, name: str) -> float | None:
    """A number from 0 to 1, or None for an empty field (the model's own)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise RequestError(f"{name} must be a number from 0 to 1 (empty: the model's own), got {text!r}")
    return value


def _upload(storage, job: Path, stem: str, settings: WebSettings) -> Path:
    """Save an uploaded file into ``job`` and check it as the CLI checks an input (one-line AudioError
    naming the uploaded file otherwise); refuse clips longer than ``max_duration``."""
    from voicegen.audio.io import audio_info

    if storage is None or not storage.filename:
        raise RequestError(f"no {stem} file; upload or record audio first")
    suffix = Path(storage.filename).suffix.lower()
    name = Path(storage.filename).name
    if suffix not in UPLOAD_SUFFIXES:
        raise RequestError(f"{name}: not an audio file name ({', '.join(UPLOAD_SUFFIXES)}); upload a recording")
    from werkzeug.utils import secure_filename

    folder = job / stem  # the upload keeps its name (plots and messages show it), one folder per field
    folder.mkdir()
    path = folder / (secure_filename(name) or f"{stem}{suffix}")
    storage.save(path)
    try:
        seconds = audio_info(path).duration_seconds  # decodes it all: a corrupt file fails here
    except VoicegenError as err:
        raise RequestError(str(err).replace(str(path), name)) from None
    if seconds > settings.max_duration:
        raise RequestError(f"{name}: {seconds:.1f} s is longer than this server's limit of "
                           f"{settings.max_duration:g} s (--max-duration); upload a shorter clip")
    return path


def _can_plot() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the slim install: no spectrogram images
        return False
    return True


def _score(converted: Path, reference: Path) -> dict[str, Any]:
    """MCD, F0 error, and where installed speaker similarity and DNSMOS of one pair (``voicegen eval``)."""
    from voicegen.eval.evaluate import evaluate_folders

    report = evaluate_folders(converted, reference, None, num_plots=0, progress=False)
    row = report.rows[0]
    keys = ("mcd_db", "f0_rmse_cents", "gpe", "speaker_similarity", "dnsmos_ovrl", "reference_dnsmos_ovrl")
    return {key: row[key] for key in keys if key in row and row[key] is not None}
