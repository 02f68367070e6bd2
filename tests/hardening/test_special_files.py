"""Class 1: files that are not regular files (FIFO, character device, socket) are refused at once.

Opening a FIFO with no writer blocks forever and /dev/zero never ends; every reader must say
what the path is, in one line, without opening it.
"""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path

import pytest
from hostile import CONVERTER, VOCODER, one_error_line

from voicegen.cli import cli
from voicegen.errors import ArtifactError, AudioError, ConfigError, VoicegenError
from voicegen.pathcheck import special_file_kind

FIFO_TEXT = re.escape("is a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize("reader", ["load_audio", "audio_info", "AudioReader", "check_audio_file"])
def test_audio_readers_refuse_a_fifo(fifo, reader) -> None:
    from voicegen.audio import io

    with pytest.raises(AudioError, match=rf"^{fifo}: {FIFO_TEXT}"):
        getattr(io, reader)(fifo)


def test_a_symlink_to_a_fifo_is_refused_as_a_fifo(fifo, tmp_path) -> None:
    from voicegen.audio.io import load_audio

    link = tmp_path / "innocent.wav"
    link.symlink_to(fifo)
    with pytest.raises(AudioError, match=FIFO_TEXT):
        load_audio(link)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_character_devices_are_named(runner, device) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} missing")
    result = runner.invoke(cli, ["info", device])
    assert result.exit_code == 1
    assert one_error_line(result.output) == (f"Error: {device}: is a character device, not a regular file; pass a "
                                             "regular file (copy the data into one first)")


def test_a_socket_is_refused(tmp_path) -> None:
    from voicegen.audio.io import load_audio

    path = tmp_path / "s.wav"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(AudioError, match="is a socket, not a regular file"):
            load_audio(path)


@pytest.mark.parametrize("args", [
    ["info", "{fifo}"],
    ["convert", "--src", "{fifo}", "--target", "TM1", "--model", str(CONVERTER), "--out", "{tmp}/o.wav"],
    ["convert", "--src", "/dev/zero", "--target", "TM1", "--model", str(CONVERTER), "--out", "{tmp}/o.wav"],
    ["features", "{fifo}", "--out", "{tmp}/m.npy"],
    ["vocode", "{fifo}", "{tmp}/v.wav", "--model", str(VOCODER)],
    ["latent", "encode", "{fifo}", "--out", "{tmp}/z.npy"],
])
def test_commands_refuse_a_fifo_in_one_line(runner, fifo, tmp_path, search_dirs, args) -> None:
    args = [a.format(fifo=fifo, tmp=tmp_path) for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "is a named pipe (FIFO)" in line or "is a character device" in line
    assert not any(tmp_path.glob("[!p]*.*")), "nothing may be written"


def test_npy_and_image_and_state_readers_refuse_a_fifo(tmp_path) -> None:
    from voicegen.checkpoint import load_state
    from voicegen.image.io import load_image
    from voicegen.infer.vocode import load_mel_file

    for name in ("mel.npy", "img.png", "state.safetensors"):
        os.mkfifo(tmp_path / name)
    with pytest.raises(AudioError, match=FIFO_TEXT):
        load_mel_file(tmp_path / "mel.npy", 80)
    with pytest.raises(VoicegenError, match=FIFO_TEXT):
        load_image(tmp_path / "img.png")
    with pytest.raises(ArtifactError, match=FIFO_TEXT):
        load_state(tmp_path / "state.safetensors")


def test_config_and_include_fifos(tmp_path) -> None:
    from voicegen.config import load_yaml

    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(ConfigError, match=rf"pipe.yaml: {FIFO_TEXT}"):
        load_yaml(tmp_path / "pipe.yaml")
    (tmp_path / "main.yaml").write_text("include: pipe.yaml\n")
    with pytest.raises(ConfigError, match=rf"pipe.yaml: {FIFO_TEXT}.* \(included by .*main.yaml\)"):
        load_yaml(tmp_path / "main.yaml")


def test_a_fifo_artifact_json_is_a_skipped_bundle(runner, search_dirs) -> None:
    (search_dirs / "piped").mkdir()
    os.mkfifo(search_dirs / "piped" / "artifact.json")
    (search_dirs / "good").symlink_to(CONVERTER)
    result = runner.invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    assert f"Warning: skipped {search_dirs / 'piped'}: " in result.output and "is a named pipe" in result.output
    assert "vcc2016_sf1_tm1" in result.output


def test_batch_input_spec_that_is_a_fifo(fifo) -> None:
    from voicegen.infer.batch.inputs import header_seconds, input_kind

    with pytest.raises(AudioError, match=FIFO_TEXT):
        input_kind(fifo)
    assert header_seconds(fifo) is None  # the --max-duration probe does not open it


def _special_output(tmp_path, name: str):
    """A character device node (root only; same as /dev/null) or else a FIFO, named ``name``."""
    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["features", "convert"])
def test_an_output_that_is_a_device_or_fifo_is_never_replaced(runner, tmp_path, sf1_clip, search_dirs, command) -> None:
    out = _special_output(tmp_path, "sink.npy" if command == "features" else "sink.wav")
    args = (["features", str(sf1_clip), "--out", str(out)] if command == "features" else
            ["convert", "--src", str(sf1_clip), "--target", "TM1", "--model", str(CONVERTER), "--out", str(out)])
    result = runner.invoke(cli, [*args, "--overwrite"])
    assert result.exit_code == 1
    assert "an output must be a regular file or a new name" in one_error_line(result.output)
    assert not out.is_file() and special_file_kind(out) is not None


def test_atomic_writes_refuse_a_special_destination(tmp_path) -> None:
    from voicegen.errors import OutputError
    from voicegen.fileutil import atomic_write_text

    out = _special_output(tmp_path, "sink.txt")
    with pytest.raises(OutputError, match="is a (character device|named pipe)"):
        atomic_write_text(out, "x")
    assert special_file_kind(out) is not None
