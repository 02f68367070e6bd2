"""Every recipe is well formed: recipe.yaml loads, every conf loads with its schema, run.sh follows the
stage conventions; `voicegen recipe list` shows them all; `voicegen recipe download` works end to end."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from voicegen.cli import cli
from voicegen.config import load_config
from voicegen.recipe.manifest import find_recipes, load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
# Every recipe of this project: each has a recipe.yaml.
DESCRIBED = ["cmu_arctic", "digits_cyclegan", "libritts", "ljspeech", "mnist", "template", "vae16k", "vcc2016",
             "vcc2018", "vocoder16k"]
# `voicegen image` confs: the schema that loads each (module, class), by file name.
IMAGE_SCHEMAS = {
    "classifier.yaml": ("voicegen.train.image.classifier", "ClassifierTrainConfig"),
    "vae.yaml": ("voicegen.train.image.vae", "ImageVAETrainConfig"),
    "beta_vae.yaml": ("voicegen.train.image.vae", "ImageVAETrainConfig"),
    "gan.yaml": ("voicegen.train.image.gan", "ImageGANTrainConfig"),
    "cgan.yaml": ("voicegen.train.image.gan", "ImageGANTrainConfig"),
    "cpu.yaml": ("voicegen.train.image.cyclegan", "ImageCycleGANTrainConfig"),
    "eval.yaml": ("voicegen.eval.image_eval", "ImageEvalConfig"),
}


def _schema(kind: str, conf: str) -> type:
    if kind == "image":
        import importlib

        module, name = IMAGE_SCHEMAS[Path(conf).name]
        return getattr(importlib.import_module(module), name)
    if kind == "vocoder":
        from voicegen.train.vocoder import VocoderTrainConfig

        return VocoderTrainConfig
    if kind == "cyclegan":
        from voicegen.train.cyclegan import CycleGANTrainConfig

        return CycleGANTrainConfig
    from voicegen.train.vae import VAETrainConfig

    return VAETrainConfig


@pytest.mark.parametrize("name", DESCRIBED)
def test_recipe_yaml_and_every_conf_load(name: str) -> None:
    info = load_recipe(RECIPES / name)
    assert info.described and info.name == name and info.summary and info.data.licence
    assert sorted(info.stages) == [0, 1, 2, 3, 4, 5], "stages 0 download .. 5 evaluate"
    listed = {conf for confs in info.configs.values() for conf in confs}
    on_disk = {str(p.relative_to(RECIPES / name)) for p in (RECIPES / name / "conf").glob("*.yaml")}
    # Every conf/*.yaml is listed, except fragments only ever included by others (mnist's data.yaml).
    included = {f"conf/{yaml.safe_load((RECIPES / name / conf).read_text()).get('include')}" for conf in listed}
    assert listed <= on_disk and on_disk - listed <= included, f"{name}: list every conf/*.yaml in recipe.yaml"
    for kind, confs in info.configs.items():
        for conf in confs:
            config = load_config(_schema(kind, conf), RECIPES / name / conf)
            assert conf.endswith("eval.yaml") or config.trainer.max_steps >= 1
    for item in info.downloads:  # official addresses; a checksum or an explicit null (warned about)
        assert item.url.startswith(("https://", "http://")) and item.checksum_source


@pytest.mark.parametrize("name", DESCRIBED)
def test_run_script_follows_the_stage_conventions(name: str) -> None:
    script = RECIPES / name / "run.sh"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    assert "stage=0; stop_stage=5" in text and '. "$(dirname "$0")/../utils/corpus.sh"' in text
    subprocess.run(["bash", "-n", str(script)], check=True)
    out = subprocess.run(["bash", str(script), "--no-such-option", "1"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and "unknown option --no-such-option" in out.stderr
    out = subprocess.run(["bash", str(script), "--help"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0 and "Stages: 0 " in out.stdout


def test_recipe_list_shows_every_recipe() -> None:
    result = CliRunner().invoke(cli, ["recipe", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["recipe", "stages", "data", "size", "licence", "what"]
    rows = {line.split()[0]: line for line in lines[1:] if line and not line.startswith(("(", "recipes in"))}
    on_disk = sorted(p.name for p in RECIPES.iterdir() if (p / "run.sh").is_file())
    assert sorted(rows) == on_disk and {"mnist", "digits_cyclegan", *DESCRIBED} <= set(rows)
    pattern = r"^vcc2016\s+0-5\s+VCC 2016\s+~0\.25 GB\s+ODC-By 1\.0\s+VCC 2016 voice conversion"
    assert re.search(pattern, rows["vcc2016"])
    assert rows["ljspeech"].split()[1] == "0-5"
    assert re.search(r"^mnist\s+0-5\s+MNIST\s+~3 MB\s+CC BY-SA 3\.0\s+MNIST image models", rows["mnist"])
    assert rows["digits_cyclegan"].split()[1] == "0-5"
    assert not any(line.startswith("(") for line in lines), "every recipe has a recipe.yaml"


def test_recipe_without_yaml_is_read_from_its_run_script(tmp_path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "run.sh").write_text("#!/usr/bin/env bash\n# My image recipe on a CPU.\n# Stages: 1 classifier (a, b),\n"
                                   "# 2 VAE, 3 figures\n# --data-dir DIR\nset -euo pipefail\n")
    (tmp_path / "not_a_recipe").mkdir()
    (info,) = find_recipes(tmp_path)
    assert (info.name, info.summary, info.stage_range, info.described) == ("mine", "My image recipe on a CPU.",
                                                                           "1-3", False)
    result = CliRunner().invoke(cli, ["recipe", "list", "--root", str(tmp_path)])
    assert "mine    1-3" in result.output and "(mine: no recipe.yaml" in result.output


def test_bad_recipe_yaml_is_one_line_naming_the_key(tmp_path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "run.sh").write_text("#!/usr/bin/env bash\n")
    (folder / "recipe.yaml").write_text("summary: x\nstages: {0: a}\n"
                                        "data: {name: n, source: s, licence: l, size: '1 GB'}\ndownlods: []\n")
    result = CliRunner().invoke(cli, ["recipe", "list", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "downlods" in result.output and len(result.output.strip().splitlines()) == 1


def test_download_command_with_a_manifest_and_only(file_server, tmp_path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("corpus/a.txt", "hello")
    (file_server.root / "corpus.zip").write_bytes(buffer.getvalue())
    manifest = tmp_path / "manifest.yaml"
    sha = hashlib.sha256(buffer.getvalue()).hexdigest()
    manifest.write_text(f"downloads:\n  - {{name: corpus, url: '{file_server.url('corpus.zip')}', sha256: {sha}}}\n"
                        f"  - {{name: extra, url: '{file_server.url('extra.zip')}', optional: true}}\n")
    runner = CliRunner()
    args = ["recipe", "download", "vcc2016", "--out", str(tmp_path / "out"), "--manifest", str(manifest),
            "--no-progress"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "corpus" / "a.txt").read_text() == "hello"
    assert result.output.splitlines()[-1] == f"1 item(s) ready in {tmp_path / 'out'}"
    result = runner.invoke(cli, args + ["--only", "nope"])
    assert result.exit_code == 1
    assert "no download item nope in recipe 'vcc2016'; choose from: corpus, extra" in result.output
    result = runner.invoke(cli, args + ["--only", "extra"])  # optional and missing on the server: HTTP 404
    assert result.exit_code == 1 and "extra: " in result.output and "answered HTTP 404" in result.output
    listing = runner.invoke(cli, ["recipe", "download", "cmu_arctic", "--out", str(tmp_path / "x"), "--list"])
    assert "bdl: http://festvox.org/cmu_arctic/packed/cmu_us_bdl_arctic.tar.bz2" in listing.output
    assert "clb (optional):" in listing.output and not (tmp_path / "x").exists()


def test_prepare_command(sf1_clip, tmp_path) -> None:
    src = tmp_path / "SF1"
    src.mkdir()
    for name in ("100001.wav", "100002.wav", "100090.wav"):
        (src / name).symlink_to(sf1_clip)
    result = CliRunner().invoke(cli, ["recipe", "prepare", str(src), str(tmp_path / "out"), "--ids", "100001-100081"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {tmp_path / 'out'}: 2 files"
    assert sorted(p.name for p in (tmp_path / "out").glob("*.wav")) == ["100001.wav", "100002.wav"]
