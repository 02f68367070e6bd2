"""Class 3: small inputs that demand unbounded memory or work get a stated limit, checked first.

A bundle config with ``base_channels: 10**6``, a ``.npy`` header claiming 80 x 10**11, a 20000^2
PNG, ``latent traverse --steps 100000``, ``data.segment_frames=10**30`` and a ``**`` glob over
symlink loops: each is one line naming the limit, before the work starts.
"""

from __future__ import annotations

import json
import struct
import time
import zlib

import numpy as np
import pytest
from hostile import (
    CONVERTER,
    PACKAGE_MODELS,
    VOCODER,
    copy_artifact,
    one_error_line,
    write_wav,
)

from voicegen.cli import cli
from voicegen.errors import ArtifactError, AudioError, ConfigError


def _tamper(path, section: str, **fields) -> None:
    meta = json.loads((path / "artifact.json").read_text())
    target = meta["config"]
    for part in section.split("."):
        target = target[part]
    target.update(fields)
    (path / "artifact.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("base_channels, message", [
    (10**6, (r"describes a generator of [\d.e+]+ parameters, beyond the limit of 5e\+08 "
             r"\(voicegen.artifact_guard.MAX_MODEL_PARAMETERS\)")),
    (20_000, r"describes a generator of [\d.e+]+ parameters but the weights hold [\d.e+]+ values"),
])
def test_converter_config_blown_up(tmp_path, base_channels, message) -> None:
    from voicegen.infer.bundles import load_converter

    bundle = copy_artifact(CONVERTER, tmp_path / "big")
    _tamper(bundle, "generator", base_channels=base_channels)
    start = time.perf_counter()
    with pytest.raises(ArtifactError, match=message):
        load_converter(bundle)
    assert time.perf_counter() - start < 10


def test_vocoder_and_vae_configs_blown_up(tmp_path) -> None:
    from voicegen.infer.vae import load_vae_bundle
    from voicegen.infer.vocode import load_vocoder

    vocoder = copy_artifact(VOCODER, tmp_path / "voc")
    _tamper(vocoder, "generator", channels=100_000)
    with pytest.raises(ArtifactError, match="MAX_MODEL_PARAMETERS"):
        load_vocoder(vocoder, "cpu")
    vae = copy_artifact(PACKAGE_MODELS / "vae16k", tmp_path / "vae")
    _tamper(vae, "model", channels=[32, 200_000])
    with pytest.raises(ArtifactError, match="MAX_MODEL_PARAMETERS"):
        load_vae_bundle(vae)


def test_image_model_config_blown_up(tmp_path) -> None:
    from voicegen.formats.image import load_image_gan

    gan = copy_artifact(PACKAGE_MODELS / "image" / "mnist_dcgan", tmp_path / "gan")
    _tamper(gan, "generator", base_channels=50_000)
    with pytest.raises(ArtifactError, match="MAX_MODEL_PARAMETERS|but the weights hold"):
        load_image_gan(gan)


def _npy(path, shape: tuple, descr: str = "<f4", payload: bytes = b"\0" * 4096):
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)
    return path


@pytest.mark.parametrize("shape, message", [
    ((80, 10**11), r"declares shape \(80, 100000000000\) \(29802.3 GiB\), beyond the 1 GiB a .npy input may hold"),
    ((80, 10**6), r"header declares shape \(80, 1000000\) \(320000000 bytes\) but the file holds 4096 bytes"),
    ((2**62, 2**62), r"beyond the 1 GiB"),
])
def test_npy_headers_that_ask_for_too_much(tmp_path, shape, message) -> None:
    from voicegen.infer.vocode import load_mel_file

    path = _npy(tmp_path / "x.npy", shape)
    with pytest.raises(AudioError, match=message):
        load_mel_file(path, 80)


def test_npy_of_objects_is_refused_without_unpickling(tmp_path) -> None:
    from voicegen.npyio import load_npy

    with pytest.raises(AudioError, match=r"holds Python objects .*\(no pickle\)"):
        load_npy(_npy(tmp_path / "o.npy", (3,), descr="|O"))


def test_vocode_cli_refuses_the_huge_npy(runner, tmp_path) -> None:
    path = _npy(tmp_path / "huge.npy", (80, 10**11))
    result = runner.invoke(cli, ["vocode", str(path), str(tmp_path / "o.wav"), "--model", str(VOCODER)])
    assert result.exit_code == 1
    assert "MAX_NPY_BYTES" in one_error_line(result.output)
    assert not (tmp_path / "o.wav").exists()


def _png(path, side: int):
    """A PNG whose header declares ``side`` x ``side`` grey pixels (no pixel data: a reader that
    trusts the header before checking it allocates side**2 bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side, message", [
    (20000, r"more than 178956970 pixels, beyond the 16777216 pixels"),
    (5000, r"5000 x 5000 pixels, beyond the 16777216 pixels"),
])
def test_png_bombs(tmp_path, side, message) -> None:
    from voicegen.image.io import ImageError, load_image

    with pytest.raises(ImageError, match=message):
        load_image(_png(tmp_path / "bomb.png", side))


def test_keep_size_has_its_own_smaller_limit(tmp_path, runner) -> None:
    path = _png(tmp_path / "big.png", 1100)
    result = runner.invoke(cli, ["image", "translate", str(path), str(tmp_path / "o.png"), "--keep-size"])
    assert result.exit_code == 1
    assert one_error_line(result.output).endswith("1100 x 1100 pixels, beyond the 1048576 pixels (e.g. 1024 x 1024) "
                                                  "voicegen reads here; drop --keep-size (the model's size) or resize it")
    assert not (tmp_path / "o.png").exists()


def test_latent_traverse_steps(runner, tmp_path, sf1_clip) -> None:
    result = runner.invoke(cli, ["latent", "traverse", str(sf1_clip), "--steps", "100000", "--out", str(tmp_path / "t")])
    assert result.exit_code == 2 and "100000 is not in the range 2<=x<=64" in result.output
    from voicegen.infer.vae import load_vae_bundle
    from voicegen.infer.vae_tools import MAX_TRAVERSE_CELLS, traverse_file

    vae = load_vae_bundle(PACKAGE_MODELS / "vae16k")
    with pytest.raises(ConfigError, match=rf"beyond the limits of 64 steps and {MAX_TRAVERSE_CELLS} cells"):
        traverse_file(vae, None, sf1_clip, dims=list(range(16)), lo=-1, hi=1, steps=20, out_dir=tmp_path / "t")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("value", ["1000000000000000000000000000000", "-1000000000000000000000000000000",
                                   "9007199254740993"])
def test_huge_config_integers(value) -> None:
    from voicegen.config import apply_overrides
    from voicegen.train.cyclegan import CycleGANTrainConfig

    with pytest.raises(ConfigError, match=r"is beyond the largest integer a config takes \(\+-2\*\*53"):
        apply_overrides({}, [f"data.segment_frames={value}"], schema=CycleGANTrainConfig)


@pytest.mark.parametrize("frames", [10**6, 4097])
def test_segment_frames_beyond_the_limit(frames) -> None:
    from voicegen.audio.mel_datasets import MAX_SEGMENT_FRAMES, check_segment_frames

    assert MAX_SEGMENT_FRAMES == 4096
    with pytest.raises(ConfigError, match=r"data.segment_frames must be in 1..4096"):
        check_segment_frames(frames, 1)


def _loops(root):
    (root / "a" / "b").mkdir(parents=True)
    write_wav(root / "a" / "b" / "x.wav")
    write_wav(root / "top.wav")
    (root / "a" / "b" / "up").symlink_to("..")          # loop 1
    (root / "a" / "back").symlink_to("../a")            # loop 2
    (root / "a" / "self").symlink_to(".")               # loop 3
    return root


@pytest.mark.parametrize("pattern", ["**/*.wav", "a/**/*.wav", "**/**/**/*.wav", "**"])
def test_recursive_globs_ignore_symlink_loops(tmp_path, pattern) -> None:
    from voicegen.audio.io import is_audio_file
    from voicegen.infer.batch.inputs import expand_inputs

    root = _loops(tmp_path / "in")
    start = time.perf_counter()
    jobs = expand_inputs(f"{root}/{pattern}", tmp_path / "out", suffix=".npy", accept=is_audio_file)
    assert time.perf_counter() - start < 5
    found = sorted(str(job.rel) for job in jobs)
    expected = ["a/b/x.npy", "top.npy"] if not pattern.startswith("a/") else ["b/x.npy"]
    assert found == expected


def test_features_over_a_looping_glob_processes_each_file_once(runner, tmp_path) -> None:
    root = _loops(tmp_path / "in")
    result = runner.invoke(cli, ["features", f"{root}/**/*.wav", "--out", str(tmp_path / "feat"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(tmp_path / "feat").as_posix() for p in (tmp_path / "feat").rglob("*.npy")) == \
        ["a/b/x.npy", "top.npy"]
    assert np.load(tmp_path / "feat" / "top.npy").shape[0] == 80


@pytest.mark.parametrize("repeats", [0, 10_001, 10**12])
def test_data_repeats_beyond_the_limit(repeats) -> None:
    from voicegen.audio.datasets import MAX_REPEATS, check_repeats

    with pytest.raises(ConfigError, match=rf"data.repeats must be in 1..{MAX_REPEATS} \(the limit"):
        check_repeats(repeats)


def test_waveform_segments_beyond_the_limit(sf1_clip) -> None:
    from voicegen.audio.datasets import MAX_SEGMENT_SAMPLES, AudioSegmentDataset

    with pytest.raises(ConfigError, match=r"beyond the limit of .*MAX_SEGMENT_SAMPLES\); lower data.segment_seconds"):
        AudioSegmentDataset([sf1_clip], 16000, MAX_SEGMENT_SAMPLES + 1)


@pytest.mark.parametrize("error", [MemoryError("Unable to allocate 29.1 TiB"),
                                   RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 4e13")])
def test_running_out_of_memory_anyway_is_one_line(runner, monkeypatch, sf1_clip, error) -> None:
    from voicegen.audio import io

    def exhausted(path):
        raise error

    monkeypatch.setattr(io, "audio_info", exhausted)
    result = runner.invoke(cli, ["info", str(sf1_clip)])
    assert result.exit_code == 1
    assert one_error_line(result.output).startswith("Error: out of memory (")


def test_other_runtime_errors_are_not_disguised(runner, monkeypatch, sf1_clip) -> None:
    from voicegen.audio import io

    monkeypatch.setattr(io, "audio_info", lambda path: (_ for _ in ()).throw(RuntimeError("a bug")))
    result = runner.invoke(cli, ["info", str(sf1_clip)])
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "a bug"
