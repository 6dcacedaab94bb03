"""Vector maths the embedding pages share: hidden states pooled over tokens, cosine similarity,
and 2-D/3-D projections (PCA, UMAP). Plain functions on numpy arrays and our BertModel."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .batching import length_batches, pad_rows, padded_inputs

Progress = Callable[[int, int], None]  # (done, total)
BATCH_SIZE = 32


def mean_weights(length: int, positions: tuple[int, ...]) -> np.ndarray:
    """Pooling weights over a sequence: 1/n at each of the n positions, 0 elsewhere."""
    weights = np.zeros(length, dtype=np.float32)
    weights[list(positions)] = 1.0 / len(positions)
    return weights


def pool_hidden_states(model, encodings: list, weights: list[np.ndarray], *, how: str = "mean",
                       batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> np.ndarray:
    """(N, L+1, H) float32: for each encoding, its hidden states at every layer pooled over tokens.

    how="mean": weighted sum with weights[i] (length of encoding i; e.g. 1/n over a word's pieces);
    how="max": maximum over the tokens whose weight is > 0. Runs in padded batches sorted by
    length on the model's device (the GPU when there is one); progress(done, total) after each batch.
    """
    if how not in ("mean", "max"):
        raise ValueError(f"pooling must be 'mean' or 'max', not {how!r}")
    device = model.device
    out = np.zeros((len(encodings), model.config.num_hidden_layers + 1, model.config.hidden_size), dtype=np.float32)
    done = 0
    if progress is not None:
        progress(0, len(encodings))
    for rows in length_batches([len(e) for e in encodings], batch_size=batch_size):
        ids, mask, types = padded_inputs([encodings[i].input_ids for i in rows],
                                         [encodings[i].token_type_ids for i in rows],
                                         pad_token_id=model.config.pad_token_id, device=device)
        with torch.inference_mode():
            result = model(ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
            states = torch.stack(result.hidden_states, dim=1).float()      # (B, L+1, T, H)
            pool = pad_rows([weights[i] for i in rows], 0.0, torch.float32).to(device)   # (B, T)
            if how == "mean":
                pooled = torch.einsum("blth,bt->blh", states, pool)        # (B, L+1, H)
            else:  # max over the tokens with weight > 0: the others can never win
                lowest = torch.finfo(states.dtype).min
                pooled = states.masked_fill((pool <= 0)[:, None, :, None], lowest).amax(dim=2)
        out[rows] = pooled.cpu().numpy()
        done += len(rows)
        if progress is not None:
            progress(done, len(encodings))
    return out


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """(n, n) cosine similarities between the rows of (n, H)."""
    unit = unit_rows(np.asarray(vectors, dtype=np.float64))
    return unit @ unit.T


def similarity_by_layer(vectors: np.ndarray) -> np.ndarray:
    """(L+1, n, n): the cosine matrix at every layer of (n, L+1, H) vectors."""
    return np.stack([cosine_matrix(vectors[:, layer]) for layer in range(vectors.shape[1])])


class ProjectionError(ValueError):
    pass


def project(points: np.ndarray, method: str = "pca", dims: int = 2, random_state: int = 0) -> np.ndarray:
    """(n, dims) coordinates of (n, H) points by PCA or UMAP (cosine metric, fixed random_state).

    UMAP needs at least 5 points (ProjectionError otherwise); PCA works from one point, padding
    with zeros the dimensions that fewer points cannot span.
    """
    n = len(points)
    if method == "umap":
        if n < 5:
            raise ProjectionError(f"UMAP needs at least 5 points, there are {n}")
        import umap  # slow to import (numba): only when asked for

        reducer = umap.UMAP(n_components=dims, n_neighbors=min(15, n - 1), metric="cosine",
                            random_state=random_state, n_jobs=1, init="spectral" if n > dims + 1 else "random")
        return reducer.fit_transform(np.asarray(points, dtype=np.float32)).astype(np.float64)
    if method != "pca":
        raise ValueError(f"projection must be 'pca' or 'umap', not {method!r}")
    centered = np.asarray(points, dtype=np.float64) - np.mean(points, axis=0)
    _, _, components = np.linalg.svd(centered, full_matrices=False)
    # Fix each axis's sign (its largest loading positive) so the picture does not flip between runs
    top = components[:dims]
    signs = np.sign(top[np.arange(len(top)), np.abs(top).argmax(axis=1)])
    coords = centered @ (top * np.where(signs == 0, 1, signs)[:, None]).T
    return np.pad(coords, ((0, 0), (0, dims - coords.shape[1])))
