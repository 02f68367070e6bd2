"""`--backend ray`: the same per-file function as Ray actors on a cluster reached with --address.

The test starts a local Ray instance (2 CPUs) in this process, runs `voicegen vocode ... --backend
ray --address <it>` as a separate driver, and stops the instance. Skipped without Ray installed
(it is the optional extra voicegen[ray]).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import soundfile as sf

from voicegen.audio.io import load_audio
from voicegen.audio.writer import save_audio
from voicegen.infer.batch.manifest import MANIFEST_NAME, read_records
from voicegen.infer.bundles import PACKAGE_MODELS_DIR, vocoder_path
from voicegen.infer.vocode import load_vocoder, vocode_file

ray = pytest.importorskip("ray", reason="--backend ray needs Ray: pip install 'voicegen[ray]'")

VOCODER = vocoder_path(PACKAGE_MODELS_DIR / "vcc2016_sf1_tm1")
TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray instance for this module: its GCS address; stopped afterwards."""
    temp = tempfile.mkdtemp(prefix="vgray")  # short: Ray's socket paths must stay under ~100 characters
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR", _temp_dir=temp)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_a_folder_on_ray_equals_the_local_outputs(ray_address, sf1_clip, tmp_path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    wav = load_audio(sf1_clip)
    names = ["a.wav", "sub/b.wav", "sub/c.wav"]
    for i, name in enumerate(names):
        save_audio(src / name, wav[:8000 * (i + 1)], 16000)
    (src / "sub" / "bad.wav").write_text("not audio\n")
    result = subprocess.run(
        [sys.executable, "-m", "voicegen", "vocode", str(src), str(out), "--model", str(VOCODER),
         "--backend", "ray", "--address", ray_address, "--jobs", "2", "--no-progress"],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1].startswith("done 3, skipped 0 (done earlier), failed 1 of 4 files: ")
    assert f"failed: {src / 'sub' / 'bad.wav'}: is a text file, not audio" in result.stderr
    vocoder = load_vocoder(VOCODER)
    for name in names:
        vocode_file(src / name, tmp_path / "ref" / name, vocoder)
        np.testing.assert_array_equal(sf.read(str(out / name))[0], sf.read(str(tmp_path / "ref" / name))[0])
    run = next(r for r in read_records(out / MANIFEST_NAME) if r["status"] == "run")
    assert (run["backend"], run["jobs"], run["spec"]["kind"]) == ("ray", 2, "vocode")
