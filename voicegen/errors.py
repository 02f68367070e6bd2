"""Exceptions that carry a one-line, user-facing message.

Library code raises these at its boundaries (files, configs, artifacts); the CLI prints
``error: <message>`` and exits non-zero without a traceback.
"""


class VoicegenError(Exception):
    """Base class: ``str(err)`` is one line that names the file or value and what to do."""


class AudioError(VoicegenError):
    """An audio file cannot be used (missing, corrupt, unsupported, too short, NaN/Inf...)."""


class ConfigError(VoicegenError):
    """A configuration file or override is invalid (unknown key, wrong type, bad YAML...)."""


class ArtifactError(VoicegenError):
    """A model artifact or training checkpoint is missing, truncated, tampered or too new."""


class OutputError(VoicegenError):
    """An output cannot be written where asked (read-only folder, a file in the way, the input itself...)."""


class TrainingError(VoicegenError):
    """Training cannot continue (non-finite loss, bad resume state...)."""


class TrainingInterrupted(TrainingError):
    """Training was stopped by a signal (Ctrl-C, SIGTERM) after saving a checkpoint; rerun to resume."""


API_OVERWRITE_HINT = " (overwrite=True)"
"""The Python-API half of library messages such as "pass --overwrite (overwrite=True)"; the CLI drops it."""


def user_message(message: str) -> str:
    """A library error message as a user sees it (the command line, the web app): one line, without
    the Python-API hint."""
    return " ".join(message.replace(API_OVERWRITE_HINT, "").split())
