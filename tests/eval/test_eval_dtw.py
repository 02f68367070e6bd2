"""DTW: the path's cost equals a plain dynamic programme's, and the path is well formed."""

from __future__ import annotations

import numpy as np
import pytest

from voicegen.eval.dtw import dtw_path


def _reference_cost(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook O(N M) dynamic programme with Python loops (the reference)."""
    n, m = len(x), len(y)
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = np.linalg.norm(x[i - 1] - y[j - 1])
            total[i, j] = cost + min(total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
    return float(total[n, m])


@pytest.mark.parametrize("shape", [(17, 23), (23, 17), (1, 9), (12, 12)])
def test_path_cost_matches_plain_dynamic_programme(shape) -> None:
    rng = np.random.default_rng(sum(shape))
    x, y = rng.normal(size=(shape[0], 3)), rng.normal(size=(shape[1], 3))
    path_x, path_y = dtw_path(x, y)
    cost = float(np.linalg.norm(x[path_x] - y[path_y], axis=1).sum())
    assert cost == pytest.approx(_reference_cost(x, y), rel=1e-5)
    assert (path_x[0], path_y[0]) == (0, 0)
    assert (path_x[-1], path_y[-1]) == (shape[0] - 1, shape[1] - 1)
    steps = np.stack([np.diff(path_x), np.diff(path_y)], axis=1)
    assert {tuple(step) for step in steps} <= {(0, 1), (1, 0), (1, 1)}


def test_identical_sequences_align_on_the_diagonal() -> None:
    x = np.random.default_rng(0).normal(size=(30, 4))
    path_x, path_y = dtw_path(x, x)
    np.testing.assert_array_equal(path_x, np.arange(30))
    np.testing.assert_array_equal(path_y, np.arange(30))


def test_delayed_copy_aligns_each_frame_with_its_original() -> None:
    x = np.random.default_rng(1).normal(size=(40, 2))
    delayed = np.concatenate([np.repeat(x[:1], 5, axis=0), x])  # first frame held 5 extra frames
    path_x, path_y = dtw_path(delayed, x)
    assert np.linalg.norm(delayed[path_x] - x[path_y], axis=1).max() == 0.0


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="equal dims"):
        dtw_path(np.zeros((3, 2)), np.zeros((3, 4)))
