"""Streaming: every stage gives its whole-input output whatever the blocks, and memory stays bounded."""

from __future__ import annotations

import os
import tracemalloc
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from chunking import crossfade_spans
from streaming import push_in_blocks
from torch import nn

from voicegen.audio.features import MelStream, compute_mel, get_preset, log_mel
from voicegen.audio.io import AudioReader, AudioWarning, load_audio
from voicegen.audio.writer import GUARD_PEAK, AudioWriter
from voicegen.errors import AudioError
from voicegen.infer.convert import Converter
from voicegen.infer.stream import Chain, ContextChunks, CrossfadeChunks, crossfade_weights, run_whole, stream_to_file
from voicegen.infer.vocode import clip_guard

PCM16_STEP = 1.0 / 32768


def test_chunk_layout_bounds_sizes_and_overlaps() -> None:
    for frames in [1, 63, 64, 65, 111, 112, 113, 200, 1000, 3750]:
        spans = crossfade_spans(frames, 64, 16)
        assert spans[0][0] == 0 and spans[-1][1] == frames
        assert all(stop - start <= 64 for start, stop in spans)
        assert frames <= 64 or all(stop - start >= (64 + 16) // 2 for start, stop in spans)
        assert all(b[0] <= a[1] - 16 for a, b in zip(spans, spans[1:]))  # neighbours overlap by >= 16
        computed = sum(stop - start for start, stop in spans)
        assert computed <= max(frames, 1.6 * frames - 16)  # vs up to 2x with a last full chunk


def reference_crossfade(fn, x: np.ndarray, chunk: int, overlap: int) -> np.ndarray:
    frames = x.shape[1]
    spans = crossfade_spans(frames, chunk, overlap)
    out, total = np.zeros_like(x), np.zeros(frames, dtype=np.float32)
    for index, (start, stop) in enumerate(spans):
        weight = crossfade_weights(stop - start, overlap, first=index == 0, last=index == len(spans) - 1)
        out[:, start:stop] += fn(x[:, start:stop]) * weight
        total[start:stop] += weight
    return out / total


@pytest.fixture(scope="module")
def conv() -> nn.Module:
    torch.manual_seed(0)
    return nn.Conv1d(8, 8, 5, padding=2).eval()


@pytest.mark.parametrize("frames", [1, 40, 64, 65, 300, 1000])
def test_crossfade_chunks_equal_the_reference_whatever_the_blocks(conv, frames) -> None:
    x = np.random.default_rng(frames).normal(size=(8, frames)).astype(np.float32)

    def fn(chunk: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            y = conv(torch.from_numpy(chunk)[None])[0].numpy()
        return y * (1 + chunk.mean())  # depends on the whole chunk

    expected = reference_crossfade(fn, x, 64, 16)
    whole = run_whole(CrossfadeChunks(fn, 8, 64, 16), x)
    np.testing.assert_array_equal(whole, expected)
    for sizes in ([1], [7, 50, 3], [64], [999]):
        np.testing.assert_array_equal(push_in_blocks(CrossfadeChunks(fn, 8, 64, 16), x, sizes), expected)


def test_crossfade_chunks_keep_at_most_two_chunks() -> None:
    stage = CrossfadeChunks(lambda c: c * 2, 8, 64, 16)
    held, returned = [], 0
    for _ in range(200):
        out = stage.push(np.ones((8, 10), dtype=np.float32))
        np.testing.assert_allclose(out, 2.0, rtol=1e-6)
        returned += out.shape[1]
        held.append((stage._in.shape[1], stage._acc.shape[1]))
    assert max(i for i, _ in held) <= 2 * 64 + 10 and max(a for _, a in held) <= 2 * 64
    assert returned + stage.finish().shape[1] == stage.frames == 2000


@pytest.mark.parametrize(("frames", "chunk", "context"), [(1, 20, 4), (45, 20, 4), (60, 20, 4), (203, 20, 0)])
def test_context_chunks_equal_one_whole_push(frames, chunk, context) -> None:
    torch.manual_seed(1)
    up = nn.ConvTranspose1d(8, 1, 4, stride=4).eval()

    def fn(mel: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return up(torch.from_numpy(mel)[None])[0, 0].numpy()

    mel = np.random.default_rng(0).normal(size=(8, frames)).astype(np.float32)
    whole = run_whole(ContextChunks(fn, 8, 4, chunk, context), mel)
    assert whole.shape == (frames * 4,)
    np.testing.assert_allclose(whole, fn(mel), rtol=0, atol=1e-6)  # local model
    for sizes in ([1], [5, 33], [1000]):
        stage = ContextChunks(fn, 8, 4, chunk, context)
        np.testing.assert_array_equal(push_in_blocks(stage, mel, sizes), whole)
        assert stage._in.shape[1] <= chunk + 2 * context + max(sizes)


@pytest.mark.parametrize("preset", ["vc16k", "hifigan22k"])
@pytest.mark.parametrize("sizes", [[1, 2, 3, 500], [4096], [100_000]])
def test_mel_stream_equals_compute_mel(preset, sizes, sf1_clip) -> None:
    """The numpy front end (float64 inside) streamed in any blocks equals its whole-array version, and
    the torch module (float32) to float32 rounding of log-mels around -10."""
    fc = get_preset(preset)
    wav = load_audio(sf1_clip, fc.sample_rate)[:fc.sample_rate]  # 1 s (block size 1 is slow)
    expected = compute_mel(wav, fc)
    got = push_in_blocks(MelStream(fc), wav, sizes)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, log_mel(wav, fc), rtol=0, atol=1e-6)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)


def test_mel_stream_refuses_too_short_input_like_compute_mel() -> None:
    fc = get_preset("vc16k")
    stream = MelStream(fc)
    assert stream.push(np.zeros(100, dtype=np.float32)).shape == (80, 0)
    with pytest.raises(ValueError, match=rf"waveform of 100 samples is shorter than the {fc.min_samples} this config"):
        stream.finish()


def test_audio_reader_blocks_are_load_audio(lj_clip, tmp_path) -> None:
    stereo = tmp_path / "stereo.flac"
    wav, rate = sf.read(str(lj_clip), dtype="float32")
    sf.write(str(stereo), np.stack([wav, -0.5 * wav], axis=1), rate)
    for path in (lj_clip, stereo):
        reader = AudioReader(path, 16000, block_seconds=0.3)
        blocks = list(reader)
        assert len(blocks) > 10 and max(len(b) for b in blocks) <= 0.3 * 16000 + 200
        np.testing.assert_array_equal(np.concatenate(blocks), load_audio(path, 16000))
        assert reader.samples == sum(len(b) for b in blocks) and (reader.file_rate, reader.rate) == (rate, 16000)


def test_audio_reader_reports_a_bad_block_with_the_file_name(tmp_path) -> None:
    path = tmp_path / "nan.wav"
    wav = np.zeros(48000, dtype=np.float32)
    wav[40000] = np.nan
    sf.write(str(path), wav, 16000, subtype="FLOAT")
    reader = iter(AudioReader(path, block_seconds=1.0))
    assert len(next(reader)) == 16000  # the first blocks are fine
    with pytest.raises(AudioError, match=r"nan\.wav: contains NaN or Inf samples; re-export it"):
        list(reader)


def test_writer_guard_scales_the_whole_file_like_clip_guard(tmp_path) -> None:
    wav = np.sin(np.linspace(0, 400, 50_000)).astype(np.float32) * np.linspace(0.1, 1.6, 50_000, dtype=np.float32)
    out = tmp_path / "loud.wav"
    with pytest.warns(AudioWarning, match=r"in\.wav: vocoder output peaks at 1\.\d\d \(beyond full scale\); scaled down by -4\.\d dB"):
        with AudioWriter(out, 16000, guard="in.wav") as writer:
            for start in range(0, len(wav), 7000):
                writer.write(wav[start:start + 7000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = clip_guard(wav, "x")
    written, _ = sf.read(str(out), dtype="float32")
    assert np.abs(written).max() == pytest.approx(GUARD_PEAK, abs=PCM16_STEP)
    assert np.abs(written - expected).max() <= PCM16_STEP
    assert sorted(os.listdir(tmp_path)) == ["loud.wav"]  # the float first pass is gone


def test_a_failure_mid_stream_leaves_nothing(tmp_path) -> None:
    out = tmp_path / "out.wav"

    def blocks():
        yield np.zeros(1000, dtype=np.float32)
        raise AudioError("in.wav: cannot decode audio (boom)")

    with pytest.raises(AudioError, match="boom"):
        stream_to_file(blocks(), Chain([]) if False else _Identity(), out, 16000, guard="in.wav")
    with pytest.raises(AudioError, match=r"out\.wav: refusing to write NaN/Inf samples"):
        stream_to_file([np.zeros(10, np.float32), np.full(10, np.nan, np.float32)], _Identity(), out, 16000)
    assert os.listdir(tmp_path) == []


class _Identity:
    def push(self, x: np.ndarray) -> np.ndarray:
        return x

    def finish(self) -> np.ndarray:
        return np.zeros(0, dtype=np.float32)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory, sf1_clip, tm1_clip):
    """120 s of real speech and a 35 s excerpt: both beyond one 10 s read block and two 1024-frame
    converter chunks (the most the converter holds, and returns at the end)."""
    root = tmp_path_factory.mktemp("long")
    speech = np.concatenate([load_audio(sf1_clip, 16000), load_audio(tm1_clip, 16000)])
    long = np.tile(speech, int(np.ceil(120 * 16000 / len(speech))))[:120 * 16000]
    sf.write(str(root / "long.wav"), long, 16000)
    sf.write(str(root / "short.wav"), long[:35 * 16000], 16000)
    return root / "long.wav", root / "short.wav", long


def test_a_long_file_converts_streamed_as_whole_and_in_bounded_memory(tiny_models, long_clip, tmp_path) -> None:
    converter = Converter(tiny_models.bundle, "cpu")
    long_path, short_path, long = long_clip
    expected, mel, _ = converter.convert_wav(long, "SF1", "TM1", pitch="none")
    assert mel.shape[1] > 3 * 1024  # several converter chunks and many vocoder chunks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioWarning)
        expected = clip_guard(expected, "x")
        peaks = {}
        for name, path in (("short", short_path), ("long", long_path)):
            tracemalloc.start()
            converter.convert_file(path, tmp_path / f"{name}.wav", "SF1", "TM1", pitch="none")
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    written, _ = sf.read(str(tmp_path / "long.wav"), dtype="float32")
    assert written.shape == long.shape
    assert np.abs(written - expected).max() <= PCM16_STEP + 1e-5
    # 3.4x the audio, about the same Python-side peak (NumPy buffers: one read block and what the
    # stages return at once, which varies with where blocks and chunks meet: 4.3-5.2 MB measured with
    # the shipped model for 35, 80 and 160 s). Whole-file, 120 s is 7.7 MB per float32 copy alone.
    assert peaks["long"] < 1.5 * peaks["short"], peaks
