"""Bundle search order, speaker -> bundle resolution, listing, and packaging a converter with its vocoder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from voicegen.checkpoint import ARTIFACT_META, read_artifact_meta
from voicegen.errors import ArtifactError, ConfigError
from voicegen.infer import bundles
from voicegen.infer.bundles import (
    BundleInfo,
    BundleWarning,
    list_bundles,
    package_bundle,
    read_bundle_info,
    resolve,
    user_models_dir,
    vocoder_path,
)
from voicegen.infer.cyclegan import CYCLEGAN_KIND, load_cyclegan_bundle
from voicegen.infer.vocode import VOCODER_KIND


def fake_bundle(folder: Path, speakers: tuple[str, ...] = ("SF1", "TM1"), *, kind: str = "cyclegan",
                name: str | None = None, embedded_vocoder: bool = True, vocoder_name: str | None = None) -> Path:
    """A bundle folder holding only JSON (listing and resolving never read weights)."""
    extra = {k: v for k, v in (("name", name), ("vocoder", vocoder_name)) if v is not None} or None
    folder.mkdir(parents=True)
    (folder / ARTIFACT_META).write_text(json.dumps({"kind": kind, "format_version": 1,
                                                    "speakers": list(speakers) or None, "extra": extra}))
    if kind == "cyclegan" and embedded_vocoder:
        fake_bundle(folder / "vocoder", (), kind="vocoder")
    return folder


def test_constants_match_their_torch_side_sources() -> None:
    assert (bundles.META_FILE, bundles.CONVERTER_KIND, bundles.VOCODER_KIND) == (ARTIFACT_META, CYCLEGAN_KIND,
                                                                                 VOCODER_KIND)
    assert bundles.PACKAGE_MODELS_DIR == Path(bundles.__file__).resolve().parent.parent / "assets" / "models"


def test_direction_follows_the_speaker_names(search_dirs) -> None:
    path = fake_bundle(search_dirs.env / "sf1_tm1")
    assert resolve("TM1") == (path, "SF1", "TM1")
    assert resolve("SF1") == (path, "TM1", "SF1")
    assert resolve("TM1", source="SF1") == (path, "SF1", "TM1")
    with pytest.raises(ConfigError) as err:
        resolve("TM1", source="TM1")
    assert str(err.value) == "source and target are both 'TM1'; pick two different speakers"


def test_a_speaker_in_two_bundles_is_ambiguous(search_dirs) -> None:
    a = fake_bundle(search_dirs.env / "a")
    b = fake_bundle(search_dirs.env / "b", ("SM1", "TM1"))
    with pytest.raises(ConfigError) as err:
        resolve("TM1")
    assert str(err.value) == (f"speaker 'TM1' is in several models: a (SF1, TM1) at {a}; b (SM1, TM1) at {b}; "
                              "pass --model PATH or --source NAME to choose")
    assert resolve("TM1", source="SM1") == (b, "SM1", "TM1")
    assert resolve("TM1", model=b) == (b, "SM1", "TM1")
    assert resolve("TM1", model="a") == (a, "SF1", "TM1")  # an installed bundle's name works too
    c = fake_bundle(search_dirs.env / "c")
    with pytest.raises(ConfigError) as err:
        resolve("SF1", source="TM1")
    assert str(err.value) == (f"speaker 'SF1' is in several models: a (SF1, TM1) at {a}; c (SF1, TM1) at {c}; "
                              "pass --model PATH to choose")


def test_unknown_speakers_are_one_line_listing_the_known_ones(search_dirs) -> None:
    fake_bundle(search_dirs.env / "a")
    b = fake_bundle(search_dirs.env / "b", ("SM1", "TM1"))
    cases = {
        ("XX", None, None): "unknown target speaker 'XX'; known speakers: SF1, SM1, TM1 (see `voicegen models`)",
        ("tm1", None, None): ("unknown target speaker 'tm1'; known speakers: SF1, SM1, TM1 (did you mean 'TM1'?) "
                              "(see `voicegen models`)"),
        ("TM1", "ZZ", None): "unknown source speaker 'ZZ'; known speakers: SF1, SM1, TM1 (see `voicegen models`)",
        ("SF1", "SM1", None): "no model converts SM1 -> SF1; installed pairs: SF1<->TM1, SM1<->TM1",
        ("SF1", None, b): f"{b}: target speaker 'SF1' is not in this model (speakers: SM1, TM1)",
        ("TM1", "SF1", b): f"{b}: source speaker 'SF1' is not in this model (speakers: SM1, TM1)",
    }
    for (target, source, model), message in cases.items():
        with pytest.raises(ConfigError) as err:
            resolve(target, source, model)
        assert str(err.value) == message


def test_nothing_installed_and_bad_model_paths(search_dirs, tmp_path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve("TM1")
    assert str(err.value) == ("no voice-conversion models installed; pass --model PATH, set $VOICEGEN_MODELS, "
                              f"or put bundles in {search_dirs.user} (see `voicegen models`)")
    with pytest.raises(ArtifactError) as err:
        resolve("TM1", model=tmp_path / "nope")
    assert str(err.value) == (f"{tmp_path / 'nope'}: not found (neither a folder nor an installed bundle name); "
                              "see `voicegen models`")
    voc = fake_bundle(tmp_path / "voc", (), kind="vocoder")
    with pytest.raises(ArtifactError) as err:
        resolve("TM1", model=voc)
    assert str(err.value) == f"{voc}: is a 'vocoder' model, expected a converter bundle ('cyclegan' or 'vae')"


def test_search_order_env_then_user_then_package(search_dirs, monkeypatch, tmp_path) -> None:
    in_package = fake_bundle(search_dirs.package / "vc")
    in_user = fake_bundle(search_dirs.user / "vc")
    in_env = fake_bundle(search_dirs.env / "vc")
    second_env = fake_bundle(tmp_path / "env2" / "vc")
    monkeypatch.setenv("VOICEGEN_MODELS", os.pathsep.join([str(search_dirs.env), "", str(tmp_path / "env2")]))
    assert resolve("TM1")[0] == in_env
    assert [(b.path, b.origin) for b in list_bundles()] == [(in_env, "$VOICEGEN_MODELS")]
    monkeypatch.setenv("VOICEGEN_MODELS", str(tmp_path / "env2"))
    assert resolve("TM1")[0] == second_env
    monkeypatch.delenv("VOICEGEN_MODELS")
    assert resolve("TM1")[0] == in_user
    assert list_bundles()[0].origin == "user"
    shutil.rmtree(search_dirs.user)
    assert resolve("TM1")[0] == in_package
    assert list_bundles() == [BundleInfo("vc", in_package, "cyclegan", ("SF1", "TM1"), "package", "vocoder/")]
    # Without XDG_DATA_HOME the user folder is ~/.local/share/voicegen/models.
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_models_dir() == tmp_path / "home" / ".local" / "share" / "voicegen" / "models"
    in_home = fake_bundle(user_models_dir() / "vc")
    assert resolve("TM1")[0] == in_home


def test_listing_reads_names_kinds_and_skips_broken_folders(search_dirs, tmp_path) -> None:
    fake_bundle(search_dirs.env / "folder_b", ("SM1", "TF2"), name="pretty")
    fake_bundle(search_dirs.env / "hifi", (), kind="vocoder")
    fake_bundle(search_dirs.env / "lonely", ("A", "B"), embedded_vocoder=False)
    fake_bundle(search_dirs.env / "linked", ("C", "D"), embedded_vocoder=False, vocoder_name="hifi")
    (search_dirs.env / "not_a_bundle").mkdir()
    # Where the vocoder of each converter comes from.
    assert vocoder_path(search_dirs.env / "folder_b") == search_dirs.env / "folder_b" / "vocoder"
    assert vocoder_path(search_dirs.env / "linked") == search_dirs.env / "hifi"
    with pytest.raises(ArtifactError) as err:
        vocoder_path(search_dirs.env / "lonely")
    lonely = search_dirs.env / "lonely"
    assert str(err.value) == (f"{lonely}: this converter has no vocoder (no vocoder/ subfolder); package one with "
                              f"`voicegen bundle --converter {lonely} --vocoder VOCODER_EXPORT --out DIR`")
    broken = search_dirs.env / "broken"
    broken.mkdir()
    (broken / ARTIFACT_META).write_text("{oops")
    with pytest.warns(BundleWarning, match=r"skipped .*broken: .*artifact.json: invalid JSON"):
        found = list_bundles()
    assert [(b.name, b.kind, b.speakers, b.vocoder) for b in found] == [
        ("pretty", "cyclegan", ("SM1", "TF2"), "vocoder/"), ("hifi", "vocoder", (), None),
        ("linked", "cyclegan", ("C", "D"), "hifi"), ("lonely", "cyclegan", ("A", "B"), None)]
    problems: list[str] = []
    list_bundles(on_problem=problems.append)
    assert len(problems) == 1 and problems[0].startswith(f"skipped {broken}: ")
    bad = fake_bundle(tmp_path / "bad", ("A",))
    with pytest.raises(ArtifactError, match=r"a converter must name two speakers, got \['A'\]; re-export$"):
        read_bundle_info(bad)


def test_package_bundle_copies_verifies_and_refuses_existing(tiny_models, tmp_path) -> None:
    out = tmp_path / "models" / "sf1_tm1"
    assert package_bundle(tiny_models.converter, tiny_models.vocoder, out, name="my-vc") == out
    assert sorted(p.name for p in out.parent.iterdir()) == ["sf1_tm1"]  # no temporary folder left
    assert sorted(p.name for p in out.iterdir()) == ["artifact.json", "vocoder", "weights.safetensors"]
    info = read_bundle_info(out)
    assert (info.name, info.speakers, info.vocoder) == ("my-vc", ("SF1", "TM1"), "vocoder/")
    assert read_artifact_meta(out / "vocoder")["kind"] == "vocoder"
    assert load_cyclegan_bundle(out).speakers == ("SF1", "TM1")  # the weights' sha256 still matches
    with pytest.raises(ArtifactError) as err:
        package_bundle(tiny_models.converter, tiny_models.vocoder, out)
    assert str(err.value) == f"{out}: already exists; pass --overwrite (overwrite=True) to replace it"
    package_bundle(tiny_models.converter, tiny_models.vocoder, out, overwrite=True)
    assert read_bundle_info(out).name == "sf1_tm1"
    assert sorted(p.name for p in out.parent.iterdir()) == ["sf1_tm1"]
    with pytest.raises(ArtifactError) as err:
        package_bundle(tiny_models.vocoder, tiny_models.vocoder, tmp_path / "x")
    assert str(err.value) == (f"{tiny_models.vocoder}: is a 'vocoder' artifact, expected 'cyclegan' or 'vae'; "
                              "pass the converter export folder")


def test_package_bundle_refuses_a_vocoder_with_other_mel_settings(tiny_models, tmp_path) -> None:
    vocoder = tmp_path / "voc22k"
    shutil.copytree(tiny_models.vocoder, vocoder)
    meta = json.loads((vocoder / ARTIFACT_META).read_text())
    meta["mel"].update(sample_rate=22050, n_fft=2048)
    (vocoder / ARTIFACT_META).write_text(json.dumps(meta))
    out = tmp_path / "bundle"
    with pytest.raises(ConfigError) as err:
        package_bundle(tiny_models.converter, vocoder, out)
    assert str(err.value) == (f"mel contract mismatch between converter {tiny_models.converter} and vocoder "
                              f"{vocoder}: sample_rate 16000 vs 22050, n_fft 1024 vs 2048 (converter vs vocoder); "
                              "use a vocoder trained on the converter's features")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["voc22k"]


def test_a_bundle_can_share_an_installed_vocoder_by_name(tiny_models, search_dirs, sf1_clip, tmp_path) -> None:
    import shutil

    from voicegen.infer.bundles import default_vocoder, package_bundle
    from voicegen.infer.convert import Converter

    shared = search_dirs.env / "voc16k"
    shutil.copytree(tiny_models.vocoder, shared)
    linked = package_bundle(tiny_models.converter, shared, search_dirs.env / "linked", link_vocoder=True)
    assert not (linked / "vocoder").exists()
    assert json.loads((linked / ARTIFACT_META).read_text())["extra"] == {"name": "linked", "vocoder": "voc16k"}
    assert vocoder_path(linked) == shared and default_vocoder() == shared
    converter = Converter(linked)
    converter.convert_file(sf1_clip, tmp_path / "o.wav", "SF1", "TM1")
    shutil.rmtree(shared)
    with pytest.raises(ArtifactError, match=r"its vocoder 'voc16k' \(extra.vocoder\) is not installed"):
        vocoder_path(linked)
