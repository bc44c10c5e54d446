"""Sample-quality metrics on classifier outputs; numpy only, so they are easy to test on known cases."""

import numpy as np


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (FID's formula, any features).

    tr(sqrt(S_a S_b)) is taken as the sum of square roots of the eigenvalues of
    sqrt(S_a) S_b sqrt(S_a), a symmetric matrix: no scipy, no complex round-off.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(cross, 0, None)).sum()
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(distance, 0.0))


def _psd_sqrt(matrix):
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def inception_score(probabilities, eps=1e-12):
    """exp(E[KL(p(y|x) || p(y))]): 10 for confident, evenly spread digits, 1 for one digit or none."""
    p = np.asarray(probabilities, np.float64)
    marginal = p.mean(axis=0)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def digit_shares(probabilities):
    """The share of samples the classifier labels as each digit 0-9."""
    labels = np.asarray(probabilities).argmax(axis=1)
    return np.bincount(labels, minlength=10) / len(labels)


def mean_confidence(probabilities):
    return float(np.asarray(probabilities).max(axis=1).mean())


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its points reaching their k-th nearest
    neighbour. Precision: the share of fakes inside the real manifold (are samples realistic?);
    recall: the share of reals inside the fake manifold (is the variety covered?).
    """
    real = np.asarray(real_features, np.float32)
    fake = np.asarray(fake_features, np.float32)
    real_radii, fake_radii = _kth_neighbour_distance(real, k), _kth_neighbour_distance(fake, k)
    return _share_inside(fake, real, real_radii), _share_inside(real, fake, fake_radii)


def _squared_distances(a, b):
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)


def _kth_neighbour_distance(points, k, chunk=2000):
    radii = np.empty(len(points), np.float32)
    for start in range(0, len(points), chunk):
        distances = _squared_distances(points[start : start + chunk], points)
        # Column 0 after partitioning is the point itself (distance 0); column k is its k-th neighbour.
        radii[start : start + chunk] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _share_inside(queries, centres, radii, chunk=2000):
    inside = np.zeros(len(queries), bool)
    for start in range(0, len(queries), chunk):
        distances = _squared_distances(queries[start : start + chunk], centres)
        inside[start : start + chunk] = (distances <= radii[None, :]).any(axis=1)
    return float(inside.mean())


def label_accuracy(probabilities, asked, digits=10):
    """How often the classifier reads the digit a conditional generator was asked for: overall and
    for each digit (None for a digit never asked)."""
    read = np.asarray(probabilities).argmax(axis=1)
    asked = np.asarray(asked)
    per_digit = [float(np.mean(read[asked == d] == d)) if np.any(asked == d) else None for d in range(digits)]
    return {"label_accuracy": float(np.mean(read == asked)), "label_accuracy_per_digit": per_digit}


def quality_figures(real_features, features, probabilities, k=3):
    """Every figure for one sample set, judged against the real test set's features."""
    precision, recall = precision_recall(real_features, features, k)
    return {
        "fid": frechet_distance(real_features, features),
        "inception_score": inception_score(probabilities),
        "mean_confidence": mean_confidence(probabilities),
        "precision": precision,
        "recall": recall,
        "digit_shares": [round(float(s), 6) for s in digit_shares(probabilities)],
    }


def confusion_matrix(labels, predictions, digits=10):
    """Counts of (true digit, predicted digit): rows the true digit."""
    matrix = np.zeros((digits, digits), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix
