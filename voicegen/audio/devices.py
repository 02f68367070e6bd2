"""Microphone and speakers for live conversion, through the optional ``sounddevice`` package.

    for block in microphone_blocks(16000, 1280, seconds=10.0): ...   # float32 mono blocks
    with Speakers(16000) as play: play(samples)

``pip install 'voicegen[live]'`` installs sounddevice; on Linux it also needs the PortAudio library
(``apt install libportaudio2``). Without them, using a device is one ConfigError line saying so.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import numpy as np

from voicegen.errors import ConfigError

INSTALL_HINT = "pip install 'voicegen[live]' (sounddevice; on Linux also apt install libportaudio2)"
# Blocks the microphone may queue ahead of the converter before the oldest are dropped (reported).
MAX_QUEUED_BLOCKS = 50


def require_sounddevice() -> Any:
    """The sounddevice module, or a ConfigError (one line) saying how to install it."""
    try:
        import sounddevice
    except (ImportError, OSError) as err:  # OSError: the PortAudio library is missing
        reason = "not installed" if isinstance(err, ImportError) else f"cannot load PortAudio ({err})"
        raise ConfigError(f"the microphone and speakers need sounddevice ({reason}): {INSTALL_HINT}") from None
    return sounddevice


def microphone_blocks(rate: int, block: int, *, seconds: float | None = None,
                      device: int | str | None = None) -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``block`` samples at ``rate`` from the default (or the named) input
    device, as they arrive; for ``seconds`` (None: until the caller stops, e.g. Ctrl-C)."""
    sd = require_sounddevice()
    arrived: queue.Queue[np.ndarray] = queue.Queue(maxsize=MAX_QUEUED_BLOCKS)

    def callback(indata, frames, time, status) -> None:  # PortAudio's thread
        try:
            arrived.put_nowait(np.array(indata[:, 0], dtype=np.float32))
        except queue.Full:
            pass  # the converter fell behind by MAX_QUEUED_BLOCKS blocks: drop rather than grow

    total = None if seconds is None else int(round(seconds * rate))
    taken = 0
    try:
        stream = sd.InputStream(samplerate=rate, channels=1, dtype="float32", blocksize=block, callback=callback,
                                device=device)
    except Exception as err:  # sounddevice.PortAudioError and friends
        raise ConfigError(f"cannot open the microphone ({err}); check the input device") from None
    with stream:
        while total is None or taken < total:
            samples = arrived.get()
            if total is not None:
                samples = samples[:total - taken]
            taken += samples.shape[0]
            yield samples


class Speakers:
    """The default (or the named) output device as a writer of mono float32 samples at ``rate``
    (blocking writes: the caller is paced by the device)."""

    def __init__(self, rate: int, device: int | str | None = None) -> None:
        sd = require_sounddevice()
        try:
            self.stream = sd.OutputStream(samplerate=rate, channels=1, dtype="float32", device=device)
        except Exception as err:
            raise ConfigError(f"cannot open the speakers ({err}); check the output device") from None

    def __enter__(self) -> Speakers:
        self.stream.start()
        return self

    def __call__(self, samples: np.ndarray) -> None:
        samples = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        if samples.shape[0]:
            self.stream.write(samples.reshape(-1, 1))

    def __exit__(self, *exc: object) -> None:
        self.stream.stop()
        self.stream.close()
