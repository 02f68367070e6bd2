"""``voicegen stream``: live, block-by-block conversion (:mod:`voicegen.infer.live`).

Registered on the main group at the bottom of ``voicegen/cli.py``. Only click is imported at the
top; the models are imported inside the command. Progress and figures go to stderr, so that
``--out -`` can carry the audio on stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from voicegen.cli_common import device_option, formant_option, frame_bank_mix_option, refuse_existing, runtime_option

STDIO = "-"
MIC, SPEAKERS = "mic", "speakers"
RAW_FORMATS = {"s16le": ("<i2", 32768.0), "f32le": ("<f4", 1.0)}


@click.command()
@click.option("--src", "src", required=True, metavar="FILE|-|mic",
              help="Audio file (wav, flac, ogg, mp3...); - for standard input (a WAV stream, or raw mono PCM: "
                   "--raw-format at --rate); mic for the microphone (voicegen[live]; ./mic for a file named mic).")
@click.option("--target", required=True, help="Speaker to convert into (see `voicegen models`).")
@click.option("--source", default=None, help="Speaker of --src [default: the target's partner in the model].")
@click.option("--model", default=None, help="Converter bundle folder, or an installed bundle's name.")
@click.option("--out", "out", required=True, metavar="FILE|-|speakers",
              help="Output audio file (written atomically); - for raw mono PCM on standard output (--raw-format, "
                   "at the model's rate); speakers for the default output device (voicegen[live]).")
@click.option("--seconds", type=click.FloatRange(min=0.1), default=None,
              help="With --src mic: stop after this long [default: at Ctrl-C].")
@click.option("--pitch", default="auto", show_default=True, metavar="auto|none|SEMITONES",
              help="As in `voicegen convert`: the target's F0 statistics, the source's F0, or auto plus N "
                   "semitones.")
@click.option("--f0-method", type=click.Choice(["dio", "harvest"]), default=None,
              help="F0 tracker [default: the vocoder's]; harvest is ~30x slower than dio, too slow for most "
                   "live use.")
@click.option("--block-ms", type=float, default=None,
              help="Block size: audio is converted in blocks of this length [default: 80, rounded to whole "
                   "16 ms frames].")
@click.option("--context-ms", type=float, default=None,
              help="Past audio the converter sees with each block [default: 512].")
@click.option("--lookahead-frames", type=int, default=None,
              help="Future frames the converter waits for [default: 2]; F0, tracked beside it, waits as long "
                   "(at least 2 frames), the vocoder 2 more. Each frame adds its time (16 ms) to the latency.")
@click.option("--crossfade-frames", type=int, default=None,
              help="Frames crossfaded at each block seam of the converter [default: 2, at most the lookahead].")
@click.option("--frame-bank/--no-frame-bank", "frame_bank", default=True, show_default=True,
              help="Re-draw the converted frames from the bundle's frame bank (the target's recorded frames), "
                   "as `voicegen convert` does; no added latency. The post-filter is never run live.")
@frame_bank_mix_option()
@formant_option("the F0 that --pitch gives is kept", model_default=True)
@click.option("--realtime", is_flag=True,
              help="Deliver a file's blocks at real-time pace, as a microphone would, and count late blocks.")
@click.option("--raw-format", type=click.Choice(sorted(RAW_FORMATS)), default="s16le", show_default=True,
              help="Sample format of - input and output.")
@click.option("--rate", type=click.IntRange(min=1), default=None,
              help="Sample rate of - input [default: the model's].")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Compute threads (one gives the steadiest block times).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@device_option("the models")
@runtime_option()
def stream(src: str, target: str, source: str | None, model: str | None, out: str, seconds: float | None,
           pitch: str, f0_method: str | None, block_ms: float | None, context_ms: float | None,
           lookahead_frames: int | None, crossfade_frames: int | None, frame_bank: bool,
           frame_bank_mix: float | None, formant: float | None, realtime: bool,
           raw_format: str, rate: int | None, threads: int, overwrite: bool, device: str, runtime: str) -> None:
    """Convert SRC live, block by block, into the TARGET speaker's voice.

    Prints the algorithmic latency (the block plus the lookahead the models wait for, measured
    on silence before the run) and, at the end, the compute time per block (mean, p95, max)
    against the block's duration and the number of late blocks. The result is the offline
    `voicegen convert` result up to the shorter contexts at block seams.

    \b
    Examples:
      voicegen stream --src samples/audio/SF1_200001.wav --target TM1 --out live.wav
      voicegen stream --src samples/audio/SF1_200001.wav --target TM1 --out live_rt.wav --realtime --block-ms 160
      sox in.wav -t raw -r 16000 -e signed -b 16 -c 1 - | voicegen stream --src - --target TM1 --out - | \\
          aplay -f S16_LE -r 16000 -c 1  # placeholder: sox and aplay
      voicegen stream --src mic --target TM1 --out speakers  # placeholder: a microphone and speakers
    """
    from voicegen.infer.bundles import resolve

    devices = src == MIC or out == SPEAKERS
    if src not in (STDIO, MIC):
        from voicegen.pathcheck import require_regular_file

        require_regular_file(Path(src), click.ClickException, "not found; pass an audio file, - for standard "
                             "input or mic for the microphone")
    if seconds is not None and src != MIC:
        raise click.UsageError("--seconds applies to --src mic only")
    if frame_bank_mix is not None and not frame_bank:
        raise click.UsageError("--frame-bank-mix sets how much the frame bank re-draws; --no-frame-bank leaves it "
                               "out: pass one of them")
    if out not in (STDIO, SPEAKERS):
        refuse_existing(Path(out), overwrite)
        from voicegen.cli_batch import check_writable_outputs

        check_writable_outputs([Path(out)], inputs=[] if src in (STDIO, MIC) else [Path(src)])
    if devices:
        from voicegen.audio.devices import require_sounddevice

        require_sounddevice()  # a missing sounddevice is said before the models load
    bundle, source, target = resolve(target, source, model)
    from voicegen.infer.options import ConvertOptions

    options = ConvertOptions(source=source, target=target, pitch=pitch, f0_method=f0_method, runtime=runtime,
                             frame_bank_mix=frame_bank_mix, formant=formant)
    settings = _settings(block_ms, context_ms, lookahead_frames, crossfade_frames, frame_bank)
    settings.check()

    from voicegen.infer import onnx_runtime
    from voicegen.infer.convert import Converter
    from voicegen.infer.live import LiveConverter

    onnx_runtime.set_threads(threads)
    converter = Converter(bundle, device, f0_method=options.f0_method, runtime=runtime,
                          frame_bank_mix=options.frame_bank_mix)
    if converter.runtime != "onnx":  # a model runs on PyTorch
        from voicegen.infer.nets import import_torch

        import_torch().set_num_threads(threads)
    live = LiveConverter(converter, options, settings)
    latency = live.probe_latency()
    rate_out = live.sample_rate
    click.echo(f"{source} -> {target} live: blocks of {1000 * live.block_samples / rate_out:.0f} ms, algorithmic "
               f"latency {1000 * latency / rate_out:.0f} ms", err=True)
    formant_line = converter.formant_plan(target, options.formant)
    if formant_line:
        click.echo(formant_line, err=True)
    if src == MIC:
        from voicegen.audio.devices import microphone_blocks

        blocks = microphone_blocks(rate_out, live.block_samples, seconds=seconds)
        realtime = True  # the microphone paces the blocks: count the late ones
        click.echo("listening (Ctrl-C to stop)" if seconds is None else f"listening for {seconds:g} s", err=True)
    else:
        blocks = _blocks(src, live.block_samples, rate_out, raw_format, rate)
    # A microphone's blocks arrive paced: LiveConverter.run must not wait for them a second time.
    paced = realtime and src != MIC
    try:
        if out == STDIO:
            timer = live.run(blocks, _raw_writer(raw_format), realtime=paced)
        elif out == SPEAKERS:
            from voicegen.audio.devices import Speakers

            with Speakers(rate_out) as play:
                timer = live.run(blocks, play, realtime=paced)
        else:
            from voicegen.audio.writer import AudioWriter

            with AudioWriter(out, rate_out, overwrite=overwrite,
                             guard=None if src in (STDIO, MIC) else src) as writer:
                timer = live.run(blocks, writer.write, realtime=paced)
    except KeyboardInterrupt:
        if src != MIC:
            raise
        click.echo("stopped", err=True)  # Ctrl-C ends a microphone session (a file output is discarded)
        return
    s = timer.summary()
    if s["blocks"]:
        click.echo(f"compute per block: mean {s['mean_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, max {s['max_ms']:.1f} "
                   f"ms of {s['block_ms']:.0f} ms (p95 {100 * s['p95_fraction']:.0f} % of a block); late blocks: "
                   f"{s['late']} of {s['blocks']}" + ("" if realtime else " (not paced; see --realtime)"), err=True)
    if out not in (STDIO, SPEAKERS):
        click.echo(f"wrote {out}", err=True)


def _settings(block_ms, context_ms, lookahead_frames, crossfade_frames, frame_bank):
    """LiveSettings from the options given (the defaults for the others; the default crossfade is
    shortened to a shorter --lookahead-frames)."""
    import dataclasses

    from voicegen.infer.live import LiveSettings

    given = {"block_ms": block_ms, "context_ms": context_ms, "lookahead_frames": lookahead_frames,
             "crossfade_frames": crossfade_frames}
    settings = LiveSettings(frame_bank=frame_bank,
                            **{key: value for key, value in given.items() if value is not None})
    if crossfade_frames is None and settings.crossfade_frames > settings.lookahead_frames:
        settings = dataclasses.replace(settings, crossfade_frames=settings.lookahead_frames)
    return settings


def _blocks(src: str, block: int, rate_out: int, raw_format: str, rate: int | None):
    """Blocks of ``block`` samples at ``rate_out`` from a file or standard input (the last may be shorter)."""
    import numpy as np

    if src == STDIO:
        source = _stdin_reader(raw_format, rate, rate_out)
    else:
        from voicegen.audio.io import AudioReader

        source = iter(AudioReader(src, rate_out))
    pending = np.zeros(0, dtype=np.float32)
    for part in source:
        pending = np.concatenate([pending, part])
        while pending.shape[0] >= block:
            yield pending[:block]
            pending = pending[block:]
    if pending.shape[0]:
        yield pending


def _stdin_reader(raw_format: str, rate: int | None, rate_out: int):
    """Mono samples from standard input in pieces: a WAV stream (its header gives the format, rate
    and channels, which are mixed down; its data size is not trusted: pipes write a placeholder)
    or raw PCM (``raw_format`` at ``rate``); resampled to ``rate_out`` where the rate differs."""
    stdin = sys.stdin.buffer
    head = _read_exactly(stdin, 12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        dtype, scale, channels, wav_rate = _wav_header(stdin)
        return _pcm_reader(stdin, b"", dtype, scale, channels, rate or wav_rate, rate_out)
    dtype, scale = RAW_FORMATS[raw_format]
    return _pcm_reader(stdin, head, dtype, scale, 1, rate or rate_out, rate_out)


def _read_exactly(stream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _wav_header(stdin):
    """``(dtype, scale, channels, rate)`` of a WAV stream whose first 12 bytes were read; stops at the data chunk."""
    import struct

    fmt = None
    while True:
        chunk = _read_exactly(stdin, 8)
        if len(chunk) < 8:
            raise click.ClickException("standard input: a WAV header without a data chunk; send a complete WAV stream")
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"data":
            break
        body = _read_exactly(stdin, size + size % 2)
        if kind == b"fmt " and len(body) >= 16:
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat's tag
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
    formats = {(1, 16): ("<i2", 32768.0), (3, 32): ("<f4", 1.0)}
    if fmt is None or (fmt[0], fmt[3]) not in formats or fmt[1] < 1:
        raise click.ClickException("standard input: only 16-bit PCM or 32-bit float WAV streams are read; convert "
                                   "with sox (-e signed -b 16) or send raw PCM")
    dtype, scale = formats[(fmt[0], fmt[3])]
    return dtype, scale, fmt[1], fmt[2]


def _pcm_reader(stdin, leftover: bytes, dtype: str, scale: float, channels: int, rate: int, rate_out: int):
    """Interleaved PCM from ``stdin`` (after ``leftover`` bytes) as mono float32 pieces at ``rate_out``."""
    import numpy as np

    width = np.dtype(dtype).itemsize * channels
    resampler = None
    if rate != rate_out:
        import soxr

        resampler = soxr.ResampleStream(rate, rate_out, 1, dtype="float32")
    while True:
        data = stdin.read1(8192) if hasattr(stdin, "read1") else stdin.read(8192)
        last = not data
        data, leftover = leftover + data, b""
        usable = len(data) - len(data) % width
        data, leftover = data[:usable], data[usable:]
        x = np.frombuffer(data, dtype=dtype).astype(np.float32) / scale
        if channels > 1:
            x = x.reshape(-1, channels).mean(axis=1)
        if resampler is not None:
            x = resampler.resample_chunk(x, last=last)
        if x.shape[0]:
            yield x
        if last:
            return


def _raw_writer(raw_format: str):
    import numpy as np

    dtype, scale = RAW_FORMATS[raw_format]
    stdout = sys.stdout.buffer

    def write(samples) -> None:
        x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * scale
        if dtype == "<i2":
            x = np.round(x * (32767.0 / 32768.0))
        stdout.write(x.astype(dtype).tobytes())
        stdout.flush()

    return write
