"""The quality metrics on cases whose answer is known."""

import numpy as np
import pytest

from train import metrics


@pytest.fixture
def features():
    return np.random.default_rng(0).normal(size=(2000, 8))


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift(features):
    assert metrics.frechet_distance(features, features) == pytest.approx(0, abs=1e-8)
    small = metrics.frechet_distance(features, features + 0.5)
    large = metrics.frechet_distance(features, features + 2.0)
    assert small == pytest.approx(8 * 0.25, rel=1e-6)  # a pure shift: |delta mean|^2
    assert large > small > 0


def test_frechet_distance_matches_the_closed_form_for_a_scaled_set(features):
    # Same mean, covariance times 4: tr(C) + tr(4C) - 2 tr(sqrt(4 C^2)) = tr(C).
    centred = features - features.mean(axis=0)
    expected = np.trace(np.cov(centred, rowvar=False))
    assert metrics.frechet_distance(centred, 2 * centred) == pytest.approx(expected, rel=1e-6)


def test_a_one_digit_generator_scores_one_and_owns_every_sample():
    probabilities = np.full((500, 10), 0.001)
    probabilities[:, 3] = 0.991
    assert metrics.inception_score(probabilities) == pytest.approx(1.0, abs=1e-6)
    assert metrics.digit_shares(probabilities)[3] == 1.0
    assert metrics.mean_confidence(probabilities) == pytest.approx(0.991)


def test_confident_evenly_spread_digits_score_ten_and_unsure_ones_less():
    confident = np.eye(10)[np.arange(1000) % 10]
    unsure = 0.5 * confident + 0.05
    assert metrics.inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    assert 1.0 < metrics.inception_score(unsure) < 5.0
    assert np.allclose(metrics.digit_shares(confident), 0.1)


def test_precision_and_recall_move_the_right_way(features):
    real, same = features[:1000], features[1000:]
    precision, recall = metrics.precision_recall(real, same)
    assert precision > 0.8 and recall > 0.8

    # Mode collapse: every sample is one of 20 real points, duplicated. Realistic, but no variety.
    collapsed = np.repeat(real[:20], 50, axis=0)
    precision_c, recall_c = metrics.precision_recall(real, collapsed)
    assert precision_c == 1.0 and recall_c < 0.3

    # Samples removed from one half of the space: recall falls, precision does not.
    half = same[same[:, 0] > 0]
    precision_h, recall_h = metrics.precision_recall(real, half)
    assert precision_h >= precision - 0.05 and recall_h < recall - 0.2

    # Samples far from every real one: nothing is realistic.
    precision_far, _ = metrics.precision_recall(real, same + 10.0)
    assert precision_far == 0.0
