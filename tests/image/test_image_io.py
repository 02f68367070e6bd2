"""Image front end: files and .npz arrays in [-1, 1], transforms, grids, sources and datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voicegen.errors import VoicegenError
from voicegen.image.datasets import ImageDataset, ImageSourceConfig, UnpairedImageDataset, load_source
from voicegen.image.grid import make_grid, save_grid, upscale
from voicegen.image.io import ImageError, list_image_files, load_image, load_npz, save_image
from voicegen.image.transforms import center_crop, pad, random_crop, random_shift, resize, to_channels


def test_png_round_trip_is_exact_for_grey_and_rgb(tmp_path) -> None:
    rng = np.random.default_rng(0)
    for channels in (1, 3):
        pixels = rng.integers(0, 256, size=(channels, 5, 7))
        image = (pixels / 255.0 * 2 - 1).astype(np.float32)
        path = save_image(tmp_path / f"c{channels}.png", image)
        back = load_image(path)
        assert back.shape == (channels, 5, 7) and back.dtype == np.float32
        np.testing.assert_allclose(back, image, atol=1e-6)
    # grey from RGB uses the BT.601 luma: pure green (0, 255, 0) -> 0.587 * 255 = 150 (rounded by Pillow)
    green = np.stack([-np.ones((2, 2)), np.ones((2, 2)), -np.ones((2, 2))]).astype(np.float32)
    grey = load_image(save_image(tmp_path / "green.png", green), channels=1)
    assert grey.shape == (1, 2, 2) and abs((grey[0, 0, 0] + 1) / 2 * 255 - 150) <= 1


def test_save_refuses_existing_files_and_bad_values(tmp_path) -> None:
    image = np.zeros((1, 4, 4), np.float32)
    path = save_image(tmp_path / "a.png", image)
    with pytest.raises(ImageError, match=r"a\.png: already exists; pass --overwrite"):
        save_image(path, image)
    save_image(path, image + 1, overwrite=True)
    assert load_image(path).min() == 1.0
    with pytest.raises(ImageError, match="NaN/Inf"):
        save_image(tmp_path / "nan.png", image * np.nan)
    with pytest.raises(ImageError, match=r"cannot write '\.gif' files"):
        save_image(tmp_path / "x.gif", image)
    assert issubclass(ImageError, VoicegenError)
    jpeg = load_image(save_image(tmp_path / "b.jpg", np.full((3, 8, 8), 0.5, np.float32)))
    assert np.abs(jpeg - 0.5).max() < 0.02


def test_npz_scaling_labels_and_errors(tmp_path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.array([[[0, 8], [16, 4]]], dtype=np.uint8), y=np.array([3]))
    images, labels = load_npz(path, value_max=16)
    np.testing.assert_allclose(images, [[[[-1.0, 0.0], [1.0, -0.5]]]])
    assert labels.tolist() == [3] and labels.dtype == np.int64
    assert load_npz(path)[0].max() == pytest.approx(16 / 255 * 2 - 1)
    with pytest.raises(ImageError, match=r"has no array 'images' \(has: x, y\)"):
        load_npz(path, images_key="images")
    np.savez(path, x=np.zeros((2, 3, 3), np.uint8), y=np.zeros(3))
    with pytest.raises(ImageError, match="3 labels for 2 images"):
        load_npz(path)
    np.savez(path, x=np.zeros((2, 3, 3, 3, 3), np.uint8))
    with pytest.raises(ImageError, match=r"images must be \(N, H, W\)"):
        load_npz(path)


def test_listing_skips_hidden_and_reports_empty_folders(tmp_path) -> None:
    for name in ("b/2.png", "a.jpg", ".hidden/3.png", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in list_image_files(tmp_path)] == ["a.jpg", "b/2.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match="holds no"):
        list_image_files(tmp_path / "empty")


def test_transforms_shapes_and_values() -> None:
    x = torch.arange(16.0).reshape(1, 4, 4) / 8 - 1
    assert resize(x, 8).shape == (1, 8, 8) and resize(x[None], (2, 6)).shape == (1, 1, 2, 6)
    assert torch.equal(resize(x, 4), x)
    padded = pad(x, 2)
    assert padded.shape == (1, 8, 8) and padded[0, 0, 0] == -1 and torch.equal(center_crop(padded, 4), x)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(random_crop(padded, 3, g1), random_crop(padded, 3, g2))
    shifted = random_shift(x, 1, torch.Generator().manual_seed(1))
    assert shifted.shape == x.shape and shifted.sum() != x.sum()
    rgb = to_channels(x, 3)
    assert rgb.shape == (3, 4, 4) and torch.allclose(to_channels(rgb, 1), x, atol=1e-6)
    with pytest.raises(ImageError, match=r"crop size \(5, 5\) is larger than the image \(4, 4\)"):
        center_crop(x, 5)


def test_grid_places_images_row_by_row(tmp_path) -> None:
    images = torch.stack([torch.full((1, 2, 3), v) for v in (-1.0, 0.5, 1.0)])
    grid = make_grid(images, nrow=2, padding=1, pad_value=0.0)
    assert grid.shape == (1, 2 * 3 + 1, 2 * 4 + 1)
    assert grid[0, 1, 1] == -1.0 and grid[0, 1, 5] == 0.5 and grid[0, 4, 1] == 1.0
    assert grid[0, 4, 5] == 0.0 and grid[0, 0, 0] == 0.0  # empty cell and padding
    path = save_grid(tmp_path / "g.png", images, nrow=2, scale=3, padding=1)
    back = torch.from_numpy(load_image(path))
    assert torch.allclose(back, upscale(make_grid(images, 2, padding=1), 3), atol=1.01 / 255)


def test_sources_split_resize_and_folder_classes(tmp_path, tiny_npz) -> None:
    source = load_source(ImageSourceConfig(path=str(tiny_npz), start=4, stop=14, size=8, pad=2))
    assert source.images.shape == (10, 1, 12, 12) and source.labels.shape == (10,)
    assert source.images[:, :, :2].max() == -1.0  # the black border
    full_x, full_y = np.load(tiny_npz)["x"], np.load(tiny_npz)["y"]
    assert source.labels.tolist() == full_y[4:14].tolist()
    with pytest.raises(ImageError, match="fewer than stop=99"):
        load_source(ImageSourceConfig(path=str(tiny_npz), stop=99))
    for k in range(2):
        save_image(tmp_path / "cls" / f"c{k}" / "x.png", full_x[k][None] / 127.5 - 1)
    folder = load_source(ImageSourceConfig(path=str(tmp_path / "cls"), class_folders=True, channels=3))
    assert folder.images.shape == (2, 3, 16, 16) and folder.labels.tolist() == [0, 1]
    assert folder.classes == ["c0", "c1"]


def test_datasets_draw_augmentation_from_the_item_seed(tiny_npz) -> None:
    images = load_source(ImageSourceConfig(path=str(tiny_npz)))
    data = ImageDataset(images, crop=12, flip=True, shift=1)
    first, again, other = data[(3, 7)], data[(3, 7)], data[(3, 8)]
    assert first["image"].shape == (1, 12, 12) and torch.equal(first["image"], again["image"])
    assert not torch.equal(first["image"], other["image"]) and first["label"] == images.labels[3]
    pairs = UnpairedImageDataset(ImageDataset(images), ImageDataset(load_source(ImageSourceConfig(
        path=str(tiny_npz), stop=5))))
    item = pairs[(2, 11)]
    assert len(pairs) == 48 and set(item) == {"a", "b", "label_a", "label_b"}
    assert torch.equal(item["a"], images.images[2]) and torch.equal(pairs[(2, 11)]["b"], item["b"])
