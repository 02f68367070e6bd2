"""Class 8: an output that is the input itself is refused everywhere, even with --overwrite (the batch
path already refused it; the single-file convert replaced its input)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from hostile import CONVERTER, VOCODER, one_error_line, write_wav

from voicegen.cli import cli
from voicegen.errors import AudioError, OutputError


@pytest.fixture
def src(tmp_path, sf1_clip):
    path = tmp_path / "x.wav"
    shutil.copy(sf1_clip, path)
    return path


def _same_file_outputs(src):
    """The input by its own name, through a symlink, through a hard link, and by a relative path."""
    link = src.parent / "link.wav"
    link.symlink_to(src)
    hard = src.parent / "hard.wav"
    os.link(src, hard)
    return {"same": src, "symlink": link, "hardlink": hard, "dotted": src.parent / "." / src.name}


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotted"])
@pytest.mark.parametrize("command", ["convert", "vocode"])
def test_output_that_is_the_input_is_refused(runner, src, search_dirs, how, command) -> None:
    before = src.read_bytes()
    out = _same_file_outputs(src)[how]
    args = (["convert", "--src", str(src), "--target", "TM1", "--model", str(CONVERTER), "--out", str(out)]
            if command == "convert" else ["vocode", str(src), str(out), "--model", str(VOCODER)])
    result = runner.invoke(cli, [*args, "--overwrite"])
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "writing it would destroy the input (even with --overwrite)" in line
    assert src.read_bytes() == before
    assert sorted(p.name for p in src.parent.iterdir() if p.name.startswith(".")) == []


def test_vocode_into_the_inputs_own_folder(runner, src) -> None:
    before = src.read_bytes()
    result = runner.invoke(cli, ["vocode", str(src), str(src.parent), "--model", str(VOCODER), "--overwrite"])
    assert result.exit_code == 1 and "would destroy the input" in one_error_line(result.output)
    assert src.read_bytes() == before


def test_the_audio_writer_refuses_its_guarded_input(src) -> None:
    from voicegen.audio.writer import AudioWriter

    with pytest.raises(OutputError, match="is the input .* itself"), \
            AudioWriter(src, 16000, overwrite=True, guard=str(src)) as writer:
        writer.write(np.zeros(10, np.float32))
    assert src.stat().st_size > 1000


def test_latent_encode_and_image_translate(runner, tmp_path, src, search_dirs) -> None:
    result = runner.invoke(cli, ["latent", "encode", str(src), "--out", str(src), "--overwrite"])
    assert result.exit_code == 1 and "would destroy the input" in one_error_line(result.output)
    from PIL import Image

    image = tmp_path / "digit.png"
    Image.new("L", (28, 28)).save(image)
    before = image.read_bytes()
    result = runner.invoke(cli, ["image", "translate", str(image), str(image), "--overwrite"])
    assert result.exit_code == 1 and "would destroy the input" in one_error_line(result.output)
    assert image.read_bytes() == before


def test_batch_mode_still_refuses(tmp_path) -> None:
    from voicegen.audio.io import is_audio_file
    from voicegen.infer.batch.inputs import expand_inputs

    folder = tmp_path / "clips"
    write_wav(folder / "a.wav")
    with pytest.raises(AudioError, match="the output folder is the input folder"):
        expand_inputs(folder, folder, suffix=".wav", accept=is_audio_file)


def test_stats_out_that_is_one_of_its_clips(runner, tmp_path) -> None:
    clip = write_wav(tmp_path / "clips" / "a.wav")
    write_wav(tmp_path / "clips" / "b.wav")
    before = clip.read_bytes()
    result = runner.invoke(cli, ["stats", str(tmp_path / "clips"), "--out", str(clip), "--overwrite", "--no-progress"])
    assert result.exit_code == 1 and "would destroy the input" in one_error_line(result.output)
    assert clip.read_bytes() == before
