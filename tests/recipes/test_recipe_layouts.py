"""Stage 1 of every audio recipe understands its corpus' layout (miniature copies from samples/audio).

Stages 2-5 are shared (recipes/utils/vc_stages.sh) and run end to end in test_vcc2016_recipe.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]


def _put(root: Path, files: dict[str, Path]) -> Path:
    for name, clip in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(clip, root / name)
    return root


def _relabel(clip: Path, dest: Path, rate: int) -> None:
    """``clip``'s samples written as a ``rate`` Hz file (content irrelevant: the rate is what matters)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    data, _ = sf.read(str(clip))
    sf.write(str(dest), data, rate)


def _run(recipe: str, *args: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "VOICEGEN": str(bin_dir / "voicegen"), "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(REPO / "recipes" / recipe / "run.sh"), "--stop-stage", "1", *args],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "stage 0: skipped" in out.stdout or "stage 0: your data" in out.stdout
    return out


def _wavs(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.wav"))


@pytest.mark.slow
def test_vcc2018_layout(samples_dir, lj_clip, tmp_path) -> None:
    s = samples_dir
    root = _put(tmp_path / "vcc2018", {
        "vcc2018_training/VCC2SF3/20001.wav": lj_clip, "vcc2018_training/VCC2TF1/10001.wav": lj_clip,
        "vcc2018_training/VCC2TM1/10001.wav": lj_clip, "vcc2018_evaluation/VCC2SF3/30001.wav": lj_clip,
        "vcc2018_reference/VCC2TF1/30001.wav": s / "SF1_200001.wav"})  # a 16 kHz reference: resampled
    exp = tmp_path / "exp"
    _run("vcc2018", "--data-dir", str(root), "--exp-dir", str(exp))
    assert _wavs(exp / "data" / "train" / "VCC2SF3") == ["20001.wav"]
    assert _wavs(exp / "data" / "vocoder") == ["VCC2SF3/20001.wav", "VCC2TF1/10001.wav", "VCC2TM1/10001.wav"]
    assert sf.info(str(exp / "data" / "dev" / "VCC2TF1" / "30001.wav")).samplerate == 22050
    assert (exp / "data" / "dev" / "VCC2SF3" / "30001.wav").is_symlink()  # already 22.05 kHz


@pytest.mark.slow
def test_cmu_arctic_layout(sf1_clip, tmp_path) -> None:
    names = [f"arctic_a{i:04d}.wav" for i in (1, 296, 297, 593)] + [f"arctic_b{i:04d}.wav" for i in (1, 2, 3)]
    files = {f"cmu_us_{spk}_arctic/wav/{name}": sf1_clip for spk in ("bdl", "slt") for name in names}
    root = _put(tmp_path / "arctic", files)
    exp = tmp_path / "exp"
    _run("cmu_arctic", "--data-dir", str(root), "--exp-dir", str(exp), "--dev-count", "2")
    assert _wavs(exp / "data" / "train" / "bdl") == ["arctic_a0001.wav", "arctic_a0296.wav"]
    assert _wavs(exp / "data" / "train" / "slt") == ["arctic_a0297.wav", "arctic_a0593.wav"]
    assert _wavs(exp / "data" / "dev" / "slt") == ["arctic_b0001.wav", "arctic_b0002.wav"]


@pytest.mark.slow
def test_libritts_layout_is_resampled_to_16k(sf1_clip, tmp_path) -> None:
    root = tmp_path / "corpus"
    for subset, speakers in (("train-clean-100", ("19", "26")), ("dev-clean", ("84",))):
        for spk in speakers:
            for i in range(3):
                _relabel(sf1_clip, root / "LibriTTS" / subset / spk / "1" / f"{spk}_1_00000{i}_000000.wav", 24000)
    exp = tmp_path / "exp"
    _run("libritts", "--data-dir", str(root), "--exp-dir", str(exp), "--per-speaker", "2", "--dev-per-speaker", "1")
    train = _wavs(exp / "data" / "train")
    assert train == ["19/1/19_1_000000_000000.wav", "19/1/19_1_000001_000000.wav",
                     "26/1/26_1_000000_000000.wav", "26/1/26_1_000001_000000.wav"]
    assert _wavs(exp / "data" / "dev") == ["84/1/84_1_000000_000000.wav"]
    assert {sf.info(str(exp / "data" / "train" / name)).samplerate for name in train} == {16000}


@pytest.mark.slow
def test_ljspeech_and_vocoder16k_on_the_shared_layout(samples_dir, lj_clip, tmp_path) -> None:
    s = samples_dir
    root = _put(tmp_path / "shared", {
        **{f"ljspeech/wavs/LJ001-{i:04d}.wav": lj_clip for i in range(1, 6)},
        "vcc2016/SF1/100001.wav": s / "SF1_100001.wav", "vcc2016/SF1/200001.wav": s / "SF1_200001.wav",
        "vcc2016/dev_parallel/SF1/200001.wav": s / "SF1_200001.wav",
        "librispeech/78/368/78-368-0000.flac": s / "78-368-0000.flac"})
    _run("ljspeech", "--data-dir", str(root), "--exp-dir", str(tmp_path / "lj"), "--dev-glob", "LJ001-000[45]")
    assert _wavs(tmp_path / "lj" / "data" / "dev") == ["LJ001-0004.wav", "LJ001-0005.wav"]
    assert len(_wavs(tmp_path / "lj" / "data" / "train")) == 3
    voc = tmp_path / "voc"
    _run("vocoder16k", "--data-dir", str(root), "--exp-dir", str(voc), "--speakers", "SF1")
    assert _wavs(voc / "data" / "train" / "SF1") == ["100001.wav"]  # the 2000xx sentence stays out
    assert sorted(p.name for p in (voc / "data" / "train").iterdir()) == ["SF1", "libri_78"]
    assert [p.name for p in (voc / "data" / "train" / "libri_78" / "368").iterdir()] == ["78-368-0000.flac"]


@pytest.mark.slow
def test_template_holds_out_and_resamples(lj_clip, sf1_clip, tmp_path) -> None:
    alice = _put(tmp_path / "alice", {f"take{i}.wav": lj_clip for i in range(4)})
    bob = _put(tmp_path / "bob", {f"sub/clip{i}.wav": sf1_clip for i in range(4)})
    exp = tmp_path / "exp"
    _run("template", "--src-dir", str(alice), "--trg-dir", str(bob), "--dev-count", "1", "--exp-dir", str(exp))
    assert len(_wavs(exp / "data" / "train" / "alice")) == 3 and len(_wavs(exp / "data" / "dev" / "alice")) == 1
    assert len(_wavs(exp / "data" / "train" / "bob")) == 3 and _wavs(exp / "data" / "dev" / "bob")[0].startswith("sub/")
    dev_alice = next((exp / "data" / "dev" / "alice").glob("*.wav"))
    assert sf.info(str(dev_alice)).samplerate == 16000  # 22.05 kHz source resampled to conf/cpu.yaml's vc16k
    out = subprocess.run(["bash", str(REPO / "recipes" / "template" / "run.sh"), "--src-dir", str(alice)],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and "pass --src-dir and --trg-dir" in out.stderr
    out = subprocess.run(["bash", str(REPO / "recipes" / "template" / "run.sh"), "--src-dir", str(alice), "--trg-dir",
                          str(bob), "--exp-dir", str(exp), "--frame-bank", "maybe", "--stage", "9"],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.endswith("run.sh: --frame-bank takes true or false, got 'maybe'\n")


def test_vcc2016_folder_per_speaker_is_split_by_sentence_id(samples_dir, tmp_path) -> None:
    """One folder per speaker holding both halves: 1000xx sentences train, 2000xx ones are scored."""
    s = samples_dir
    root = _put(tmp_path / "mine", {
        "SF1/SF1_100001.wav": s / "SF1_100001.wav", "SF1/SF1_200001.wav": s / "SF1_200001.wav",
        "TM1/TM1_100082.wav": s / "TM1_100082.wav", "TM1/TM1_200001.wav": s / "TM1_200001.wav"})
    exp = tmp_path / "exp"
    out = _run("vcc2016", "--data-dir", str(root), "--exp-dir", str(exp))
    assert f"layout: a folder per speaker in {root} (SF1 TM1)" in out.stdout
    assert _wavs(exp / "data" / "train" / "SF1") == ["SF1_100001.wav"]
    assert _wavs(exp / "data" / "train" / "TM1") == ["TM1_100082.wav"]
    assert _wavs(exp / "data" / "dev" / "SF1") == ["SF1_200001.wav"]
    assert _wavs(exp / "data" / "dev" / "TM1") == ["TM1_200001.wav"]


def test_vcc2016_names_the_layout_it_found_or_the_ones_it_knows(samples_dir, tmp_path) -> None:
    s = samples_dir
    root = _put(tmp_path / "zips", {"vcc2016_training/SF1/100001.wav": s / "SF1_100001.wav",
                                    "vcc2016_training/TM1/100082.wav": s / "TM1_100082.wav",
                                    "evaluation_all/SF1/200001.wav": s / "SF1_200001.wav",
                                    "evaluation_all/TM1/200001.wav": s / "TM1_200001.wav"})
    out = _run("vcc2016", "--data-dir", str(root), "--exp-dir", str(tmp_path / "exp"))
    assert f"layout: the official zips (vcc2016_training/, evaluation_all/) in {root}" in out.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = subprocess.run(["bash", str(REPO / "recipes" / "vcc2016" / "run.sh"), "--stop-stage", "1",
                             "--data-dir", str(empty), "--exp-dir", str(tmp_path / "exp2")],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.startswith(f"error: no VCC 2016 corpus for speakers SF1 TM1 in {empty}; expected "
                                    "vcc2016_training/<spk> + evaluation_all/<spk> (the official zips), "
                                    "vcc2016/<spk> + vcc2016/dev_parallel/<spk>, or one folder per speaker")
