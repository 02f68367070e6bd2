"""The library entries of the file commands: one call for a file, a folder, a dry run."""

from __future__ import annotations

import numpy as np
import pytest

from voicegen.errors import AudioError
from voicegen.infer.batch.manifest import MANIFEST_NAME, read_records
from voicegen.infer.commands import FeaturesResult, run_features
from voicegen.infer.options import BatchOptions, FeaturesOptions


def test_run_features_takes_a_file_a_folder_and_a_dry_run(sf1_clip, tmp_path) -> None:
    lines = []

    def echo(line: str, is_error: bool) -> None:
        lines.append(line)

    out = tmp_path / "mel.npy"
    assert run_features(sf1_clip, out, batch=BatchOptions(dry_run=True), echo=echo) is None
    assert lines == [f"would write {out} from {sf1_clip}"] and not out.exists()
    result = run_features(sf1_clip, out, FeaturesOptions(f0=True, plot=tmp_path / "mel.png"))
    assert isinstance(result, FeaturesResult)
    assert (result.n_mels, result.f0_rows, result.sample_rate, result.plot) == (80, 2, 16000, tmp_path / "mel.png")
    assert np.load(out).shape == (82, result.frames)
    with pytest.raises(AudioError) as err:
        run_features(sf1_clip, out)
    assert str(err.value) == f"{out}: already exists; pass --overwrite (overwrite=True) to replace it"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.wav").write_bytes(sf1_clip.read_bytes())
    summary = run_features(folder, tmp_path / "mels", FeaturesOptions(plot=tmp_path / "plots"),
                           batch=BatchOptions(progress=False), echo=echo)
    assert (summary.done, summary.failed) == (1, 0)
    assert (tmp_path / "mels" / "a.npy").is_file() and (tmp_path / "plots" / "a.png").is_file()
    [run] = [record for record in read_records(tmp_path / "mels" / MANIFEST_NAME) if record["status"] == "run"]
    assert run["spec"] == {"kind": "features", "model": None, "options": {"preset": "vc16k"}, "weights": []}
