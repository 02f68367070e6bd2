"""Stages 0-1 of the image recipes: MNIST's IDX files and the UCI optical digits as .npz arrays.

Miniature "official distributions" (IDX gz files, an optdigits zip) are built here and served over
local HTTP; run.sh downloads them (checksums verified) and prepares the arrays the later stages read.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicegen.cli import cli
from voicegen.cli_recipe import IMAGE_KINDS
from voicegen.image.io import ImageError
from voicegen.recipe.images import (
    IDX_MAGIC_IMAGES,
    IDX_MAGIC_LABELS,
    KINDS,
    prepare_digits,
    read_idx,
    read_mnist,
    read_optdigits,
    write_idx,
)

REPO = Path(__file__).resolve().parents[2]
# The first line of optdigits.tes (a 0), as UCI distributes it; scikit-learn's digits[0] is the same.
OPTDIGITS_TES_LINE_1 = ("0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,"
                        "0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0")
MNIST_IMAGES = 8003  # the recipes keep the first 8000 (their split is by position)


def _mnist_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Mostly black 28 x 28 images whose first two pixels encode their position; labels position % 10."""
    x = np.zeros((count, 28, 28), dtype=np.uint8)
    positions = np.arange(count)
    x[:, 0, 0], x[:, 0, 1] = positions % 256, positions // 256
    return x, (positions % 10).astype(np.uint8)


def test_idx_round_trip_and_byte_layout(tmp_path) -> None:
    labels = np.array([7, 2, 1], dtype=np.uint8)
    write_idx(tmp_path / "labels-idx1-ubyte", labels)
    # Big-endian header: two zero bytes, type 0x08 (unsigned byte), 1 dimension; the count; the bytes.
    assert (tmp_path / "labels-idx1-ubyte").read_bytes() == b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x02\x01"
    x, _ = _mnist_images(5)
    write_idx(tmp_path / "images-idx3-ubyte.gz", x)
    raw = gzip.decompress((tmp_path / "images-idx3-ubyte.gz").read_bytes())
    assert raw[:16] == bytes.fromhex("00000803" "00000005" "0000001c" "0000001c") and len(raw) == 16 + 5 * 784
    back = read_idx(tmp_path / "images-idx3-ubyte.gz", magic=IDX_MAGIC_IMAGES)
    assert back.dtype == np.uint8 and back.shape == (5, 28, 28) and np.array_equal(back, x)
    assert np.array_equal(read_idx(tmp_path / "labels-idx1-ubyte", magic=IDX_MAGIC_LABELS), labels)


def test_idx_reader_refuses_a_bad_magic_number_and_a_short_file(tmp_path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x05")  # a 1x1x1 image file
    with pytest.raises(ImageError) as err:
        read_idx(path, magic=IDX_MAGIC_LABELS)
    assert str(err.value) == (f"{path}: bad IDX magic number 0x00000803, expected 0x00000801; the file is damaged "
                              "or not the one its name says: download it again")
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02")
    with pytest.raises(ImageError, match=r"the IDX header says 4 = 4 bytes of data but the file holds 2; download"):
        read_idx(path)


def test_read_mnist_checks_that_the_two_files_agree(tmp_path) -> None:
    x, y = _mnist_images(4)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y)  # unzipped copies are read too
    digits = read_mnist(tmp_path)
    assert np.array_equal(digits.x, x) and digits.y.tolist() == [0, 1, 2, 3] and digits.index.tolist() == [0, 1, 2, 3]
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:3])
    with pytest.raises(ImageError, match="3 labels for the 4 images of t10k-images-idx3-ubyte.gz"):
        read_mnist(tmp_path)
    with pytest.raises(ImageError, match=r"no train-images-idx3-ubyte.gz \(or train-images-idx3-ubyte\); run stage 0"):
        read_mnist(tmp_path, "train")


def test_optdigits_parsing_of_a_known_line(tmp_path) -> None:
    path = tmp_path / "optdigits.tes"
    path.write_text(OPTDIGITS_TES_LINE_1 + "\n" + ",".join(["16"] * 64 + ["9"]) + "\n\n")
    digits = read_optdigits(path)
    assert digits.x.shape == (2, 8, 8) and digits.x.dtype == np.uint8 and digits.y.tolist() == [0, 9]
    assert digits.x[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]  # first row of the 8 x 8 grid
    assert digits.x[0, 7].tolist() == [0, 0, 6, 13, 10, 0, 0, 0]  # last row
    assert int(digits.x[1].sum()) == 64 * 16
    path.write_text(OPTDIGITS_TES_LINE_1 + "\n0,17" + ",0" * 63 + "\n")
    with pytest.raises(ImageError, match=r"optdigits.tes: line 2 has a count outside 0-16 or a class outside 0-9"):
        read_optdigits(path)
    path.write_text("Block 1,Block 2\n")
    with pytest.raises(ImageError, match=r"line 1 is not 65 comma-separated integers"):
        read_optdigits(path)


@pytest.mark.shared_data
def test_scikit_learns_digits_are_optdigits_tes(shared_data, tmp_path) -> None:
    """The developer copy (scikit-learn's digits.csv.gz) starts with optdigits.tes's first line."""
    uci = np.load(shared_data / "images" / "uci_digits" / "uci_digits_8x8.npz")
    (tmp_path / "optdigits.tes").write_text(OPTDIGITS_TES_LINE_1 + "\n")
    digits = read_optdigits(tmp_path / "optdigits.tes")
    assert np.array_equal(uci["x"][0], digits.x[0]) and uci["y"][0] == digits.y[0]
    assert uci["x"].shape == (1797, 8, 8)  # optdigits.tes holds 1797 digits (optdigits.tra 3823)


@pytest.mark.shared_data
def test_prepare_images_command_on_the_shared_npz(shared_data, tmp_path) -> None:
    source = shared_data / "images" / "mnist" / "mnist_t10k_dev.npz"
    out = tmp_path / "mnist.npz"
    runner = CliRunner()
    result = runner.invoke(cli, ["recipe", "prepare-images", "mnist", str(source), str(out), "--first", "8000"])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}: 8000 digits of 28 x 28 pixels from {source}\n"
    with np.load(source) as a, np.load(out) as b:
        assert all(np.array_equal(a[key], b[key]) for key in ("x", "y", "index"))
    again = runner.invoke(cli, ["recipe", "prepare-images", "mnist", str(source), str(out)])
    assert again.exit_code == 1 and f"{out} already exists; pass --overwrite to replace it" in again.output
    more = runner.invoke(cli, ["recipe", "prepare-images", "mnist", str(source), str(out), "--first", "9000",
                               "--overwrite"])
    assert more.exit_code == 1 and f"{source}: holds 8000 digits, fewer than --first 9000" in more.output
    uci = shared_data / "images" / "uci_digits" / "uci_digits_8x8.npz"
    wrong = runner.invoke(cli, ["recipe", "prepare-images", "mnist", str(uci), str(out), "--overwrite"])
    assert wrong.exit_code == 1 and "mnist digits are 28 x 28 pixels, this holds 8 x 8" in wrong.output


def test_prepare_digits_arguments(tmp_path) -> None:
    assert IMAGE_KINDS == KINDS
    from voicegen.errors import ConfigError

    with pytest.raises(ConfigError, match="--split 'test' is not a split of mnist; use one of t10k, train"):
        prepare_digits("mnist", tmp_path, tmp_path / "m.npz", split="test")
    with pytest.raises(ConfigError, match="the output must be an .npz file"):
        prepare_digits("optdigits", tmp_path, tmp_path / "m.npy")


def _serve_distribution(root: Path, url) -> dict[str, str]:
    """Write mini MNIST IDX files and a mini UCI zip into the served folder; manifest lines per item."""
    x, y = _mnist_images(MNIST_IMAGES)
    write_idx(root / "t10k-images-idx3-ubyte.gz", x)
    write_idx(root / "t10k-labels-idx1-ubyte.gz", y)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("optdigits.tes", OPTDIGITS_TES_LINE_1 + "\r\n" + ",".join(["1"] * 64 + ["3"]) + "\r\n")
        zf.writestr("optdigits.tra", ",".join(["2"] * 64 + ["5"]) + "\r\n")
        zf.writestr("optdigits.names", "Optical Recognition of Handwritten Digits\n")
    (root / "optdigits.zip").write_bytes(buffer.getvalue())

    def md5(name: str) -> str:
        return hashlib.md5((root / name).read_bytes(), usedforsecurity=False).hexdigest()

    return {
        "images": f"{{name: t10k_images, url: '{url('t10k-images-idx3-ubyte.gz')}', "
                  f"md5: {md5('t10k-images-idx3-ubyte.gz')}, extract: none}}",
        "labels": f"{{name: t10k_labels, url: '{url('t10k-labels-idx1-ubyte.gz')}', "
                  f"md5: {md5('t10k-labels-idx1-ubyte.gz')}, extract: none}}",
        "uci": f"{{name: uci_optdigits, url: '{url('optdigits.zip')}', "
               f"sha256: {hashlib.sha256(buffer.getvalue()).hexdigest()}}}",
    }


def _run(recipe: str, *args: str) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "VOICEGEN": str(bin_dir / "voicegen"), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(["bash", str(REPO / "recipes" / recipe / "run.sh"), "--stop-stage", "1", *args], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out


@pytest.mark.slow
def test_image_recipes_download_and_prepare(file_server, tmp_path) -> None:
    items = _serve_distribution(file_server.root, file_server.url)
    manifest = tmp_path / "mnist.yaml"
    manifest.write_text(f"downloads:\n  - {items['images']}\n  - {items['labels']}\n")
    exp = tmp_path / "mnist_exp"
    out = _run("mnist", "--download-dir", str(tmp_path / "dl_mnist"), "--manifest", str(manifest),
               "--exp-dir", str(exp))
    assert out.stdout.count("checksum OK (md5)") == 2
    assert (tmp_path / "dl_mnist" / "t10k-images-idx3-ubyte.gz").is_file()  # kept compressed
    with np.load(exp / "data" / "mnist_t10k_dev.npz") as data:
        assert data["x"].shape == (8000, 28, 28) and data["index"].tolist() == list(range(8000))
        assert np.array_equal(data["x"], _mnist_images(8000)[0]) and data["y"].tolist() == [i % 10 for i in range(8000)]

    manifest = tmp_path / "digits.yaml"
    manifest.write_text(f"downloads:\n  - {items['images']}\n  - {items['labels']}\n  - {items['uci']}\n")
    exp = tmp_path / "digits_exp"
    out = _run("digits_cyclegan", "--download-dir", str(tmp_path / "dl_digits"), "--manifest", str(manifest),
               "--exp-dir", str(exp))
    assert out.stdout.count("checksum OK") == 3 and (tmp_path / "dl_digits" / "optdigits.tes").is_file()
    assert not (tmp_path / "dl_digits" / "archives").exists()
    assert (exp / "data" / "mnist_t10k_dev.npz").is_file()
    with np.load(exp / "data" / "uci_digits_8x8.npz") as data:  # optdigits.tes, not .tra
        assert data["x"].shape == (2, 8, 8) and data["y"].tolist() == [0, 3] and data["x"][1].max() == 1
    # --data-dir pointing at the downloaded folder: stage 0 skipped, the same arrays.
    again = _run("digits_cyclegan", "--data-dir", str(tmp_path / "dl_digits"), "--exp-dir", str(tmp_path / "again"))
    assert "stage 0: skipped (--data-dir" in again.stdout
    with np.load(exp / "data" / "uci_digits_8x8.npz") as a, np.load(tmp_path / "again" / "data" /
                                                                    "uci_digits_8x8.npz") as b:
        assert np.array_equal(a["x"], b["x"])
    assert sorted(name for name, _ in file_server.requests) == [
        "optdigits.zip", "t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_mnist_stage_1_from_the_shared_layout(shared_data, tmp_path) -> None:
    _run("mnist", "--data-dir", str(shared_data), "--exp-dir", str(tmp_path), "--stage", "1")
    with np.load(shared_data / "images" / "mnist" / "mnist_t10k_dev.npz") as a, \
            np.load(tmp_path / "data" / "mnist_t10k_dev.npz") as b:
        assert np.array_equal(a["x"], b["x"]) and np.array_equal(a["y"], b["y"])
