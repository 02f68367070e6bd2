"""Stage 0's downloader against a local HTTP server: verify, resume, skip, refuse bad files."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from voicegen.recipe.download import ARCHIVES_DIR, RECORDS_DIR, DownloadError, fetch
from voicegen.recipe.manifest import DownloadItem

CONTENT = {"corpus/SPK/100001.txt": b"first file\n" * 50, "corpus/SPK/100002.txt": b"second\n" * 900}


def _zip(path: Path, content: dict[str, bytes] = CONTENT) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in content.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _item(url: str, data: bytes, **kw) -> DownloadItem:
    return DownloadItem(name="corpus", url=url, sha256=kw.pop("sha256", hashlib.sha256(data).hexdigest()),
                        size=kw.pop("size", len(data)), **kw)


def test_fetch_verifies_extracts_and_records(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    out = tmp_path / "out"
    lines: list[str] = []
    result = fetch(_item(file_server.url("corpus.zip"), data), out, progress=False, log=lines.append)
    assert result.status == "fetched" and result.verified
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    for name, payload in CONTENT.items():
        assert (out / name).read_bytes() == payload
    assert not (out / ARCHIVES_DIR).exists()  # the archive is removed after extraction
    record = json.loads((out / RECORDS_DIR / "corpus.json").read_text())
    assert record["entries"] == ["corpus"] and record["verified"] is True
    assert "corpus: checksum OK (sha256)" in lines
    assert file_server.requests == [("corpus.zip", None)]


def test_second_fetch_is_skipped_without_a_request(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    item = _item(file_server.url("corpus.zip"), data)
    fetch(item, tmp_path / "out", progress=False, log=lambda _: None)
    lines: list[str] = []
    again = fetch(item, tmp_path / "out", progress=False, log=lines.append)
    assert again.status == "skipped" and len(file_server.requests) == 1
    assert lines[0].startswith("corpus: already in") and lines[0].endswith("verified); skipped")
    # A removed entry, or a changed checksum in the manifest, fetches again.
    (tmp_path / "out" / "corpus" / "SPK" / "100001.txt").unlink()
    assert fetch(item, tmp_path / "out", progress=False, log=lambda _: None).status == "skipped"
    import shutil

    shutil.rmtree(tmp_path / "out" / "corpus")
    assert fetch(item, tmp_path / "out", progress=False, log=lambda _: None).status == "fetched"
    assert len(file_server.requests) == 2


def test_checksum_mismatch_is_one_error_and_removes_the_file(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    item = _item(file_server.url("corpus.zip"), data, sha256="0" * 64)
    with pytest.raises(DownloadError) as err:
        fetch(item, tmp_path / "out", progress=False, log=lambda _: None)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"corpus: sha256 mismatch for corpus.zip (expected {'0' * 64}, "
                              f"got {hashlib.sha256(data).hexdigest()}); the file was removed")
    assert list((tmp_path / "out" / ARCHIVES_DIR).iterdir()) == []
    assert not (tmp_path / "out" / "corpus").exists()


def test_wrong_size_is_refused_before_hashing(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    item = _item(file_server.url("corpus.zip"), data, size=len(data) + 1)
    with pytest.raises(DownloadError, match=rf"has {len(data)} bytes but the manifest says {len(data) + 1}"):
        fetch(item, tmp_path / "out", progress=False, log=lambda _: None)


def test_resume_from_a_partial_download(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    part = tmp_path / "out" / ARCHIVES_DIR / "corpus.zip.part"
    part.parent.mkdir(parents=True)
    half = len(data) // 2
    part.write_bytes(data[:half])
    lines: list[str] = []
    result = fetch(_item(file_server.url("corpus.zip"), data), tmp_path / "out", progress=False, log=lines.append)
    assert result.verified and file_server.requests == [("corpus.zip", f"bytes={half}-")]
    assert f"corpus: resuming corpus.zip.part from byte {half}" in lines
    assert (tmp_path / "out" / "corpus" / "SPK" / "100002.txt").read_bytes() == CONTENT["corpus/SPK/100002.txt"]


def test_server_ignoring_range_starts_over(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    file_server.honour_range = False
    part = tmp_path / "out" / ARCHIVES_DIR / "corpus.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that is not the start of the file")
    lines: list[str] = []
    result = fetch(_item(file_server.url("corpus.zip"), data), tmp_path / "out", progress=False, log=lines.append)
    assert result.verified and "corpus: the server ignored the resume request; starting over" in lines


def test_unpublished_checksum_warns_with_the_computed_sha256(tmp_path) -> None:
    data = _zip(tmp_path / "corpus.zip")  # a file:// url: the same code path without a server
    item = DownloadItem(name="corpus", url=(tmp_path / "corpus.zip").as_uri())
    lines: list[str] = []
    result = fetch(item, tmp_path / "out", progress=False, log=lines.append)
    sha = hashlib.sha256(data).hexdigest()
    assert result.sha256 == sha and not result.verified
    assert (f"warning: corpus: no published checksum for corpus.zip; NOT verified. Its sha256 is {sha} "
            "(record it in the manifest)") in lines


def test_http_error_is_one_line_naming_the_url(file_server, tmp_path) -> None:
    item = DownloadItem(name="missing", url=file_server.url("nothing.zip"))
    with pytest.raises(DownloadError, match=r"^missing: http://127\.0\.0\.1:\d+/nothing\.zip answered HTTP 404"):
        fetch(item, tmp_path / "out", progress=False, log=lambda _: None)


def test_tar_member_outside_the_folder_is_refused(tmp_path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        payload = b"x"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    item = DownloadItem(name="evil", url=archive.as_uri())
    with pytest.raises(DownloadError, match="refusing member '../escaped.txt'"):
        fetch(item, tmp_path / "out", progress=False, log=lambda _: None)
    assert not (tmp_path / "escaped.txt").exists()


def test_manifest_items_are_validated() -> None:
    with pytest.raises(ValueError, match="sha256 must be 64 lower-case hex digits"):
        DownloadItem(name="x", url="https://example.org/a.zip", sha256="abc")
    with pytest.raises(ValueError, match="url must be http"):
        DownloadItem(name="x", url="ftp://example.org/a.zip")
    item = DownloadItem(name="x", url="https://example.org/path/LJSpeech-1.1.tar.bz2?sequence=2")
    assert item.file_name == "LJSpeech-1.1.tar.bz2" and item.archive_kind == "tar"


def test_md5_manifests_verify_and_a_mirror_of_the_same_file_is_skipped(file_server, tmp_path) -> None:
    data = _zip(file_server.root / "corpus.zip")
    md5 = hashlib.md5(data).hexdigest()
    item = DownloadItem(name="corpus", url=file_server.url("corpus.zip"), md5=md5)
    lines: list[str] = []
    assert fetch(item, tmp_path / "out", progress=False, log=lines.append).verified
    assert "corpus: checksum OK (md5)" in lines
    mirror = DownloadItem(name="corpus", url=(file_server.root / "corpus.zip").as_uri(), md5=md5)
    assert fetch(mirror, tmp_path / "out", progress=False, log=lambda _: None).status == "skipped"
    other = DownloadItem(name="corpus", url=file_server.url("corpus.zip"), md5="0" * 32)
    with pytest.raises(DownloadError, match="md5 mismatch"):  # another checksum: fetched and refused
        fetch(other, tmp_path / "out", progress=False, log=lambda _: None)
    assert len(file_server.requests) == 2
