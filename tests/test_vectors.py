"""app/vectors.py: cosine similarities and the projections the embedding pages draw."""
import numpy as np
import pytest

from app.vectors import ProjectionError, cosine_matrix, project, unit_rows


def test_cosine_matrix_of_parallel_orthogonal_and_zero_rows():
    similarity = cosine_matrix(np.array([[3.0, 0.0], [1.0, 0.0], [0.0, -2.0], [0.0, 0.0]]))
    assert similarity[0, 1] == pytest.approx(1.0) and similarity[0, 2] == pytest.approx(0.0)
    assert similarity[3].tolist() == [0.0] * 4                       # a zero vector is similar to nothing
    assert np.linalg.norm(unit_rows(np.array([[3.0, 4.0]])), axis=-1) == pytest.approx(1.0)


def test_pca_handles_few_points_and_umap_refuses_under_five():
    points = np.random.default_rng(1).normal(size=(2, 8))
    coords = project(points, "pca", 3)
    assert coords.shape == (2, 3) and np.allclose(coords[:, 1:], 0) and coords[0, 0] == pytest.approx(-coords[1, 0])
    assert abs(coords[0, 0]) == pytest.approx(np.linalg.norm(points[0] - points[1]) / 2)
    assert project(points[:1], "pca", 2).tolist() == [[0.0, 0.0]]
    with pytest.raises(ProjectionError, match="at least 5"):
        project(points, "umap", 2)


@pytest.mark.slow
def test_umap_is_reproducible_and_separates_clusters():
    rng = np.random.default_rng(2)
    points = np.concatenate([rng.normal(size=(20, 16)) + 8, rng.normal(size=(20, 16)) - 8])
    first, second = project(points, "umap", 3), project(points, "umap", 3)
    assert first.shape == (40, 3) and np.array_equal(first, second)
    gap = np.linalg.norm(first[:20].mean(0) - first[20:].mean(0))
    assert gap > 3 * max(first[:20].std(0).max(), first[20:].std(0).max())
