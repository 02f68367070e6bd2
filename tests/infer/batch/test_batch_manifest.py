"""The JSONL manifest: append + read back, torn last line after a kill, damage, lock, states."""

from __future__ import annotations

import json

import pytest

from voicegen.errors import ArtifactError, VoicegenError
from voicegen.infer.batch.manifest import (
    MANIFEST_NAME,
    Manifest,
    file_states,
    load_done,
    read_records,
    run_spec,
)


def test_records_round_trip_one_line_each(tmp_path) -> None:
    with Manifest.open(tmp_path / "out") as manifest:
        manifest.append({"status": "run", "spec": {"kind": "vocode"}})
        manifest.append_many([{"status": "started", "output": "a.wav"},
                              {"status": "done", "output": "a.wav", "seconds": 1.5, "input": "ä.wav"}])
    path = tmp_path / "out" / MANIFEST_NAME
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["input"] == "ä.wav"
    records = read_records(path)
    assert [r["status"] for r in records] == ["run", "started", "done"]
    assert all(isinstance(r["time"], float) for r in records)
    assert run_spec(records) == {"kind": "vocode"}
    assert read_records(tmp_path / "nothing.jsonl") == []


def test_a_torn_last_line_is_ignored_then_cut_before_appending(tmp_path) -> None:
    path = tmp_path / MANIFEST_NAME
    with Manifest.open(tmp_path) as manifest:
        manifest.append({"status": "done", "output": "a.wav"})
    with open(path, "ab") as handle:  # what a kill -9 in the middle of a write leaves
        handle.write(b'{"status": "done", "output": "b.w')
    assert [r["output"] for r in read_records(path)] == ["a.wav"]
    assert load_done(path) == {"a.wav"}
    with Manifest.open(tmp_path) as manifest:
        manifest.append({"status": "done", "output": "c.wav"})
    assert [r["output"] for r in read_records(path)] == ["a.wav", "c.wav"]
    assert path.read_bytes().count(b"b.w") == 0


def test_a_damaged_complete_line_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / MANIFEST_NAME
    path.write_text('{"status": "done", "output": "a.wav"}\nnot json\n{"status": "done", "output": "b.wav"}\n')
    with pytest.raises(ArtifactError) as err:
        read_records(path)
    assert str(err.value) == (f"{path}: line 2 is not a manifest record (edited or damaged?); delete that line, "
                              "or the whole file to start the batch over")
    path.write_text('{"status": "weird"}\n')
    with pytest.raises(ArtifactError, match="line 1 is not a manifest record"):
        read_records(path)


def test_one_batch_per_folder(tmp_path) -> None:
    with Manifest.open(tmp_path):
        with pytest.raises(VoicegenError) as err:
            Manifest.open(tmp_path)
    assert str(err.value) == (f"{tmp_path / MANIFEST_NAME}: another batch is writing into {tmp_path}; wait for it "
                              "to finish or choose another output folder")
    Manifest.open(tmp_path).close()  # released with the first


def test_the_latest_record_of_a_file_decides_and_skips_keep_done(tmp_path) -> None:
    records = [
        {"status": "run"},
        {"status": "started", "output": "a.wav"}, {"status": "done", "output": "a.wav", "seconds": 2.0},
        {"status": "started", "output": "b.wav"}, {"status": "failed", "output": "b.wav", "error": "bad"},
        {"status": "started", "output": "c.wav"}, {"status": "done", "output": "c.wav"},
        {"status": "started", "output": "c.wav"},  # redone later and interrupted
        {"status": "skipped", "output": "a.wav"},
        {"status": "started", "output": "d.wav"},
    ]
    states = file_states(records)
    assert {name: r["status"] for name, r in states.items()} == {
        "a.wav": "done", "b.wav": "failed", "c.wav": "started", "d.wav": "started"}
    assert states["a.wav"]["seconds"] == 2.0
    path = tmp_path / MANIFEST_NAME
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert load_done(path) == {"a.wav"}
