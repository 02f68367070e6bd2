"""Class 6: output folders that cannot be written. Every command checks its outputs before the work:
one clean line naming the folder, exit 1, and nothing half-done (``convert --plot`` used to write
the wav before failing on the plot).
"""

from __future__ import annotations

import pytest
from hostile import CONVERTER, REPO_ROOT, VOCODER, one_error_line, write_wav

from voicegen.cli import cli
from voicegen.errors import OutputError


def _commands(ro, tmp, clip):
    conv = write_wav(tmp / "conv" / "a.wav")
    return {
        "convert": ["convert", "--src", str(clip), "--target", "TM1", "--model", str(CONVERTER), "--out", f"{ro}/o.wav"],
        "convert --plot": ["convert", "--src", str(clip), "--target", "TM1", "--model", str(CONVERTER),
                           "--out", f"{tmp}/o.wav", "--plot", f"{ro}/p.png"],
        "features": ["features", str(clip), "--out", f"{ro}/m.npy"],
        "features --plot": ["features", str(clip), "--out", f"{tmp}/m.npy", "--plot", f"{ro}/m.png"],
        "stats": ["stats", str(clip.parent), "--out", f"{ro}/s.json", "--no-progress"],
        "eval": ["eval", "--converted", str(conv.parent), "--reference", str(conv.parent), "--out", f"{ro}/rep",
                 "--no-speaker-similarity", "--no-dnsmos", "--no-progress"],
        "export": ["export", "vocoder", "--run-dir", f"{tmp}/no_run", "--out", f"{ro}/exp"],
        "train": ["train", "vocoder", "--config", str(REPO_ROOT / "recipes/vocoder16k/conf/tiny.yaml"),
                  "--set", f"data.train=[{clip}]", "--run-dir", f"{ro}/run"],
        "vocode": ["vocode", str(clip), f"{ro}/v.wav", "--model", str(VOCODER)],
        "vocode folder": ["vocode", str(conv.parent), f"{ro}/voc", "--model", str(VOCODER)],
        "latent encode": ["latent", "encode", str(clip), "--out", f"{ro}/z.npy"],
        "latent traverse": ["latent", "traverse", str(clip), "--out", f"{ro}/trav"],
        "image sample": ["image", "sample", "--out", f"{ro}/s.png"],
        "bundle": ["bundle", "--converter", str(CONVERTER), "--vocoder", str(VOCODER), "--out", f"{ro}/b"],
        "stream": ["stream", "--src", str(clip), "--target", "TM1", "--model", str(CONVERTER), "--out", f"{ro}/l.wav"],
    }


COMMANDS = ["convert", "convert --plot", "features", "features --plot", "stats", "eval", "export", "train",
            "vocode", "vocode folder", "latent encode", "latent traverse", "image sample", "bundle", "stream"]


@pytest.mark.parametrize("name", COMMANDS)
def test_a_read_only_output_folder_is_one_line_before_the_work(runner, unwritable, tmp_path, sf1_clip,
                                                               search_dirs, name) -> None:
    args = _commands(unwritable, tmp_path, sf1_clip)[name]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    line = one_error_line(result.output)
    assert f"into {unwritable} (" in line and "choose a folder you can write to" in line
    assert "model:" not in result.output  # refused before the models loaded
    # Nothing half-done: the writable outputs of the same command were not written either.
    assert not (tmp_path / "o.wav").exists() and not (tmp_path / "m.npy").exists()


@pytest.mark.parametrize("name", ["convert", "features", "stats", "vocode", "latent encode"])
def test_a_file_where_a_folder_is_needed(runner, tmp_path, sf1_clip, search_dirs, name) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    args = [a.replace(str(tmp_path / "ro"), str(blocker / "sub")) for a in _commands(tmp_path / "ro", tmp_path,
                                                                                   sf1_clip)[name]]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert f"{blocker} is a file, not a folder" in one_error_line(result.output)


def test_library_writes_into_a_read_only_folder_are_output_errors(unwritable) -> None:
    import numpy as np

    from voicegen.audio.writer import save_audio
    from voicegen.fileutil import atomic_write_text
    from voicegen.pathcheck import check_writable

    with pytest.raises(OutputError, match=rf"cannot write into {unwritable}"):
        atomic_write_text(unwritable / "x.txt", "x")
    with pytest.raises(Exception, match=r"cannot write") as err:
        save_audio(unwritable / "x.wav", np.zeros(100, np.float32), 16000)
    assert "Traceback" not in str(err.value)
    with pytest.raises(OutputError, match="report folder"):
        check_writable(unwritable / "deeper" / "still", what="report folder")


def test_the_write_probe_leaves_nothing(tmp_path) -> None:
    from voicegen.pathcheck import check_writable

    check_writable(tmp_path / "new" / "out.wav")
    check_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []
