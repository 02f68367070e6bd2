"""Speaker similarity: cosine between speaker embeddings of two utterances.

The embeddings come from Resemblyzer's voice encoder (a 3-layer LSTM d-vector model trained with
the GE2E loss on ~1.8k speakers; 256-d, L2-normalised, non-negative), whose weights ship inside
the ``resemblyzer`` package, so nothing is downloaded. Resemblyzer reads them with ``torch.load``,
which on torch >= 2.6 defaults to ``weights_only=True`` (no arbitrary unpickling).
Its preprocessing is used as is: volume normalised to -30 dBFS, pauses longer than ~0.4 s removed
by WebRTC VAD, resampled to 16 kHz; the utterance embedding averages 1.6 s windows at 50 % overlap.

``speaker_similarity = cos(e_x, e_y)`` in [0, 1] for these non-negative embeddings; the same
speaker usually scores above ~0.75, different speakers lower (0.86 for two SF1 sentences and 0.67
for SF1 against TM1 on the bundled clips).

Resemblyzer is optional (``pip install 'voicegen[eval]'``). Its VAD dependency ``webrtcvad``
imports ``pkg_resources``, which setuptools >= 81 no longer ships: the extra pins
``setuptools<81``; replacing ``webrtcvad`` by ``webrtcvad-wheels`` (same module, no such import)
works too.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np

from voicegen.errors import ConfigError

EMBEDDING_RATE = 16000


def resemblyzer_problem() -> str | None:
    """None when Resemblyzer imports; otherwise one line saying why not and what to do."""
    try:
        _import_resemblyzer()
    except ImportError as err:
        missing = getattr(err, "name", None)
        if missing == "pkg_resources":
            return ("resemblyzer's webrtcvad needs pkg_resources, which setuptools >= 81 removed; "
                    "pip install 'setuptools<81' (or replace webrtcvad by webrtcvad-wheels)")
        return (f"speaker similarity needs resemblyzer ({type(err).__name__}: {err}); "
                f"pip install 'voicegen[eval]'")
    return None


class SpeakerEncoder:
    """Resemblyzer's voice encoder on one device; ``embed(wav, sample_rate)`` -> ``(256,)`` float32."""

    def __init__(self, device: str = "cpu") -> None:
        problem = resemblyzer_problem()
        if problem is not None:
            raise ConfigError(problem)
        resemblyzer = _import_resemblyzer()
        self._encoder = resemblyzer.VoiceEncoder(device=device, verbose=False)
        self._preprocess = resemblyzer.preprocess_wav

    def embed(self, wav: np.ndarray, sample_rate: int) -> np.ndarray:
        """Utterance embedding of a mono ``(T,)`` float waveform at ``sample_rate`` Hz."""
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1:
            raise ValueError(f"expected a mono (T,) waveform, got shape {wav.shape}")
        processed = self._preprocess(wav, source_sr=sample_rate)
        if processed.shape[0] == 0:  # all of it was silence to the VAD: embed the raw clip
            processed = _resample(wav, sample_rate)
        with _one_torch_thread():
            return np.asarray(self._encoder.embed_utterance(processed), dtype=np.float32)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b / (|a| |b|)`` for two embedding vectors (NaN when one is all zeros)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm > 0 else float("nan")


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the previous count.

    The encoder's small LSTM gains nothing from threads, and right after numpy/OpenBLAS work
    (the WORLD analysis) a 2-thread pool on a busy 2-core machine spun for 8-10 s per utterance
    against 0.1 s on one thread.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _import_resemblyzer():
    with warnings.catch_warnings():
        # resemblyzer imports scipy.ndimage.morphology, deprecated in recent scipy, and its
        # webrtcvad imports pkg_resources, which warns that it is deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import resemblyzer
    return resemblyzer


def _resample(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == EMBEDDING_RATE:
        return wav
    import soxr

    return soxr.resample(wav, sample_rate, EMBEDDING_RATE, quality="VHQ").astype(np.float32)
