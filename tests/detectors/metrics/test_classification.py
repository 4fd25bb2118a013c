"""Classification kernels against scikit-learn on the same input (sklearn: test dependency only)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sklearn import metrics as skm

from driftwatch.detectors.metrics.classification import (
    _class_counts,
    accuracy,
    brier,
    confusion_matrix,
    log_loss,
    precision_recall_f1,
    roc_auc,
)

EPS64 = float(np.finfo(np.float64).eps)
SIZES = (1, 2, 3, 10, 57, 1000, 10_000)


def approx(x: float) -> object:
    return pytest.approx(x, rel=0, abs=1e-9)


def sk_prf(y_true: np.ndarray, y_pred: np.ndarray, labels: list[object], average: str,
           pos_label: object | None = None) -> tuple[float, float, float]:
    p, r, f, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=average, pos_label=pos_label, zero_division=0.0
    )
    return float(p), float(r), float(f)


# ---------------------------------------------------------------- random cases

def _classes(kind: str, k: int) -> np.ndarray:
    if kind == "int":
        return np.array([-3, 0, 2, 7, 11][:k])
    return np.array(["ant", "bee", "cat", "dog", "eel"][:k])


def _labelled() -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(id, y_true, y_pred, classes): imbalanced classes, noisy predictions, in some cases a
    class the model never predicts, integer and string labels, sizes 1..10,000."""
    for seed, n in enumerate(SIZES):
        for kind in ("int", "str"):
            for k in (2, 3, 5):
                rng = np.random.default_rng(100 * seed + 10 * k + (kind == "str"))
                classes = _classes(kind, k)
                share = rng.dirichlet(np.full(k, 0.5))  # often very unequal
                y_true = rng.choice(classes, size=n, p=share)
                wrong = rng.random(n) < 0.3
                y_pred = np.where(wrong, rng.choice(classes, size=n), y_true)
                if seed % 2:  # the model never predicts the last class
                    y_pred = np.where(y_pred == classes[-1], classes[0], y_pred)
                yield f"n{n}-{kind}-k{k}", y_true, y_pred, classes


LABELLED = list(_labelled())
BINARY = [c for c in LABELLED if c[3].shape[0] == 2]


@pytest.fixture(params=LABELLED, ids=[c[0] for c in LABELLED])
def labelled(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, y_true, y_pred, classes = request.param
    return y_true, y_pred, classes


def _scored() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(id, y_true01, score): imbalanced, with rounded scores for many ties, exact 0 and 1."""
    for seed, n in enumerate(SIZES):
        for style in ("smooth", "ties", "extremes"):
            rng = np.random.default_rng(seed * 7 + len(style))
            base = rng.uniform(0.02, 0.4)
            y = rng.random(n) < base
            score = np.clip(0.3 * y + 0.7 * rng.random(n), 0.0, 1.0)
            if style == "ties":
                score = np.round(score, 1)
            elif style == "extremes":
                score = np.where(rng.random(n) < 0.2, (rng.random(n) < 0.5).astype(float), score)
            yield f"n{n}-{style}", y, score


SCORED = list(_scored())


@pytest.fixture(params=SCORED, ids=[c[0] for c in SCORED])
def scored(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    _, y, score = request.param
    return y, score


# ---------------------------------------------------------------- confusion matrix, accuracy

def test_confusion_matrix_matches_sklearn(labelled: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y_true, y_pred, classes = labelled
    cm = confusion_matrix(y_true, y_pred, classes)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y_true, y_pred, labels=classes))
    assert cm.sum() == y_true.shape[0]


def test_confusion_matrix_label_order_and_subset(labelled: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y_true, y_pred, classes = labelled
    reordered = list(classes[::-1])
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, reordered),
                                  skm.confusion_matrix(y_true, y_pred, labels=reordered))
    subset = [c for c in classes if c in set(y_true.tolist())][:2]  # sklearn needs one in y_true
    if len(subset) < 2:
        subset.append(next(c for c in classes if c not in subset))  # and warns on a 1×1 matrix
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, subset),
                                  skm.confusion_matrix(y_true, y_pred, labels=subset))


def test_confusion_matrix_hand() -> None:
    # rows true, cols predicted, order [dog, cat]; the owl row is outside labels and dropped:
    #   (cat, cat) -> C[1,1]; (dog, cat) -> C[0,1]; (dog, dog) -> C[0,0]; (owl, dog) dropped
    cm = confusion_matrix(np.array(["cat", "dog", "dog", "owl"]), np.array(["cat", "cat", "dog", "dog"]),
                          ["dog", "cat"])
    np.testing.assert_array_equal(cm, [[1, 1], [0, 1]])


def test_class_counts_are_the_confusion_matrix_diagonal_and_margins(
        labelled: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y_true, y_pred, classes = labelled
    cm = confusion_matrix(y_true, y_pred, classes)
    tp, true_sum, pred_sum = _class_counts(y_true, y_pred, classes)
    np.testing.assert_array_equal(tp, np.diag(cm))
    np.testing.assert_array_equal(true_sum, cm.sum(axis=1))
    np.testing.assert_array_equal(pred_sum, cm.sum(axis=0))


def test_accuracy_matches_sklearn(labelled: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    y_true, y_pred, _ = labelled
    assert accuracy(y_true, y_pred) == approx(skm.accuracy_score(y_true, y_pred))


def test_accuracy_hand() -> None:
    # a=a yes, b=b yes, b=c no, c=c yes, a=b no -> 3 of 5
    assert accuracy(np.array(list("abbca")), np.array(list("abccb"))) == approx(0.6)


# ---------------------------------------------------------------- precision, recall, F1

@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_prf_averaged_matches_sklearn(labelled: tuple[np.ndarray, np.ndarray, np.ndarray], average: str) -> None:
    y_true, y_pred, classes = labelled
    labels = list(classes)
    got = precision_recall_f1(y_true, y_pred, labels=labels, average=average)  # type: ignore[arg-type]
    assert got == tuple(approx(x) for x in sk_prf(y_true, y_pred, labels, average))


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_prf_labels_a_strict_subset_matches_sklearn(
        labelled: tuple[np.ndarray, np.ndarray, np.ndarray], average: str) -> None:
    # Rows whose other side lies outside labels still count in P_k and T_k, as in sklearn.
    y_true, y_pred, classes = labelled
    labels = list(classes[1:]) if classes.shape[0] > 2 else [classes[1]]
    got = precision_recall_f1(y_true, y_pred, labels=labels, average=average)  # type: ignore[arg-type]
    assert got == tuple(approx(x) for x in sk_prf(y_true, y_pred, labels, average))


@pytest.mark.parametrize(("y_true", "y_pred", "classes"), [c[1:] for c in BINARY], ids=[c[0] for c in BINARY])
def test_prf_binary_matches_sklearn(y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray) -> None:
    for pos in classes:  # either class as the positive one
        got = precision_recall_f1(y_true, y_pred, labels=list(classes), average="binary", pos_label=pos)
        assert got == tuple(approx(x) for x in sk_prf(y_true, y_pred, list(classes), "binary", pos))
    # default positive class: labels[-1]
    default = precision_recall_f1(y_true, y_pred, labels=list(classes), average="binary")
    assert default == precision_recall_f1(y_true, y_pred, labels=list(classes), average="binary",
                                          pos_label=classes[-1])


def test_prf_binary_hand() -> None:
    # y_true 1 1 1 1 0 0 / y_pred 1 1 1 0 1 1: TP = 3, predicted 1 = 5, truly 1 = 4
    # precision 3/5, recall 3/4, F1 = 2*3 / (5 + 4) = 2/3
    y_true, y_pred = np.array([1, 1, 1, 1, 0, 0]), np.array([1, 1, 1, 0, 1, 1])
    got = precision_recall_f1(y_true, y_pred, labels=[0, 1], average="binary")
    assert got == (approx(0.6), approx(0.75), approx(2 / 3))
    assert got == tuple(approx(x) for x in sk_prf(y_true, y_pred, [0, 1], "binary", 1))


def test_prf_multiclass_hand_with_a_class_never_predicted() -> None:
    # y_true a a b b c / y_pred a b b b a.  Per class (TP, predicted, true):
    #   a: (1, 2, 2) -> p 1/2, r 1/2, F1 2/4
    #   b: (2, 3, 2) -> p 2/3, r 1,   F1 4/5
    #   c: (0, 0, 1) -> p 0/0 := 0, r 0, F1 0   (c is never predicted)
    # macro:    p (1/2 + 2/3)/3 = 7/18, r 1.5/3 = 1/2, F1 1.3/3
    # weighted (2, 2, 1)/5: p (1 + 4/3)/5 = 7/15, r 3/5, F1 2.6/5
    y_true, y_pred = np.array(list("aabbc")), np.array(list("abbba"))
    macro = precision_recall_f1(y_true, y_pred, labels=["a", "b", "c"], average="macro")
    weighted = precision_recall_f1(y_true, y_pred, labels=["a", "b", "c"], average="weighted")
    assert macro == (approx(7 / 18), approx(0.5), approx(1.3 / 3))
    assert weighted == (approx(7 / 15), approx(0.6), approx(0.52))
    assert macro == tuple(approx(x) for x in sk_prf(y_true, y_pred, ["a", "b", "c"], "macro"))
    assert weighted == tuple(approx(x) for x in sk_prf(y_true, y_pred, ["a", "b", "c"], "weighted"))


def test_prf_weighted_with_no_true_rows_in_labels_is_the_plain_mean() -> None:
    # "z" is only ever predicted: T_z = 0, so weights are all zero; sklearn falls back to the mean.
    y_true, y_pred = np.array(list("aab")), np.array(list("zaz"))
    got = precision_recall_f1(y_true, y_pred, labels=["z"], average="weighted")
    assert got == tuple(approx(x) for x in sk_prf(y_true, y_pred, ["z"], "weighted"))
    assert got == (0.0, 0.0, 0.0)


def test_prf_rejects_bad_arguments() -> None:
    y = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="average"):
        precision_recall_f1(y, y, labels=[0, 1], average="micro")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels: must be distinct"):
        precision_recall_f1(y, y, labels=[0, 1, 0], average="macro")
    with pytest.raises(ValueError, match="labels: must be a non-empty"):
        precision_recall_f1(y, y, labels=[], average="macro")
    with pytest.raises(ValueError, match="y_pred: length 2"):
        precision_recall_f1(y, y[:2], labels=[0, 1], average="macro")


# ---------------------------------------------------------------- ROC AUC

def test_roc_auc_matches_sklearn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = scored
    if y.all() or not y.any():
        with pytest.raises(ValueError, match=r"roc_auc: needs both classes in y_true"):
            roc_auc(y, score)
        return
    assert roc_auc(y, score) == approx(skm.roc_auc_score(y, score))
    assert roc_auc(y.astype(int), score) == roc_auc(y, score)


def test_roc_auc_hand_with_ties() -> None:
    # positives score 0.5, 0.9, 0.2; negatives 0.1, 0.5, 0.5.  Over the 9 pairs, count 1 for a
    # positive above, 1/2 for a tie:  0.5 -> 1 + 1/2 + 1/2;  0.9 -> 3;  0.2 -> 1.  AUC = 6/9.
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.5, 0.5, 0.9, 0.5, 0.2])
    assert roc_auc(y, s) == approx(2 / 3)
    assert roc_auc(y, s) == approx(skm.roc_auc_score(y, s))


def test_roc_auc_extremes() -> None:
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.full(4, 0.5)) == 0.5


def test_roc_auc_single_class_raises() -> None:
    with pytest.raises(ValueError, match=r"^roc_auc: needs both classes in y_true$"):
        roc_auc(np.ones(5, dtype=bool), np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match=r"^roc_auc: needs both classes in y_true$"):
        roc_auc(np.zeros(1), np.array([0.3]))


# ---------------------------------------------------------------- log loss, Brier

def test_log_loss_matches_sklearn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    assert log_loss(y, p) == approx(skm.log_loss(y, p, labels=[False, True]))
    assert log_loss(y.astype(np.int64), p) == approx(skm.log_loss(y.astype(np.int64), p, labels=[0, 1]))


def test_log_loss_exact_zero_and_one_are_clipped_like_sklearn() -> None:
    # right side with certainty: -log(1 - eps) each; wrong side with certainty: -log(eps) each
    y, p = np.array([1, 0, 1, 0]), np.array([1.0, 0.0, 0.0, 1.0])
    expected = (2 * -np.log1p(-EPS64) + 2 * -np.log(EPS64)) / 4
    assert log_loss(y, p) == approx(expected)
    assert log_loss(y, p) == approx(skm.log_loss(y, p))
    assert log_loss(np.array([1, 0]), np.array([1.0, 0.0])) == approx(skm.log_loss([1, 0], [1.0, 0.0]))
    assert log_loss(np.array([1, 0]), np.array([1.0, 0.0])) > 0.0  # sklearn's -log(1 - eps), not 0


def test_log_loss_float32_clips_at_float32_eps_like_sklearn() -> None:
    # sklearn computes float32 input in float32 (so agreement is to float32 precision only) and
    # clips at float32's eps (1.2e-7); clipping at float64's would give 36 nats instead of 16.
    rng = np.random.default_rng(5)
    y = rng.random(500) < 0.4
    p = rng.random(500).astype(np.float32)
    p[:10] = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-6)
    wrong = np.array([1.0], dtype=np.float32) * 0
    assert log_loss(np.array([True]), wrong) == pytest.approx(-np.log(np.finfo(np.float32).eps), rel=1e-12)


def test_log_loss_hand() -> None:
    # -(log 0.9 + log(1 - 0.2) + log 0.6) / 3
    assert log_loss(np.array([1, 0, 1]), np.array([0.9, 0.2, 0.6])) == approx(
        -(np.log(0.9) + np.log(0.8) + np.log(0.6)) / 3)


def test_brier_matches_sklearn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    assert brier(y, p) == approx(skm.brier_score_loss(y, p, pos_label=True))
    assert brier(y.astype(int), p) == approx(skm.brier_score_loss(y.astype(int), p, pos_label=1))


def test_brier_hand() -> None:
    # (0.1^2 + 0.1^2 + 0.2^2 + 0.3^2) / 4 = 0.15 / 4
    assert brier(np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3])) == approx(0.0375)


@pytest.mark.parametrize("kernel", [log_loss, brier])
@pytest.mark.parametrize("bad", [1.5, -0.01, np.nan, np.inf])
def test_probabilities_outside_unit_interval_raise(kernel: object, bad: float) -> None:
    p = np.array([0.2, bad, 0.7])
    with pytest.raises(ValueError, match=r"p: probabilities must be in \[0, 1\]"):
        kernel(np.array([0, 1, 1]), p)  # type: ignore[operator]


@pytest.mark.parametrize("kernel", [log_loss, brier, roc_auc])
def test_y_true01_must_be_binary(kernel: object) -> None:
    with pytest.raises(ValueError, match="y_true01: must hold booleans or 0/1"):
        kernel(np.array([0, 2, 1]), np.array([0.1, 0.2, 0.3]))  # type: ignore[operator]
    with pytest.raises(ValueError, match="y_true01: must hold booleans or 0/1"):
        kernel(np.array(["a", "b", "a"]), np.array([0.1, 0.2, 0.3]))  # type: ignore[operator]


def test_empty_and_misaligned_inputs_raise() -> None:
    with pytest.raises(ValueError, match="no rows"):
        accuracy(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="score: length 2 differs"):
        roc_auc(np.array([0, 1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="must be 1-D"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 2)), [0, 1])
