"""Classification scores against figures worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.metrics import (
    accuracy,
    classification_report,
    classification_scores,
    confusion_matrix,
    macro_f1,
    multilabel_scores,
)

GOLD = ["pos", "pos", "pos", "neg", "neg", "mix"]
PRED = ["pos", "pos", "neg", "neg", "pos", "pos"]


def test_accuracy_macro_f1_report_and_confusion_by_hand():
    assert accuracy(GOLD, PRED) == pytest.approx(3 / 6)
    # pos: P = 2/4, R = 2/3, F1 = 4/7; neg: P = 1/2, R = 1/2, F1 = 1/2; mix: never predicted, F1 = 0
    assert macro_f1(GOLD, PRED) == pytest.approx((4 / 7 + 1 / 2 + 0) / 3)
    assert classification_scores(GOLD, PRED) == {
        "accuracy": pytest.approx(0.5),
        "macro_f1": pytest.approx(0.3571428),
    }
    report = classification_report(GOLD, PRED, ["pos", "neg", "mix"])
    assert report["pos"] == pytest.approx(
        {"precision": 0.5, "recall": 2 / 3, "f1-score": 4 / 7, "support": 3}
    )
    assert report["mix"]["recall"] == 0.0 and report["macro avg"]["f1-score"] == pytest.approx(0.3571428)
    matrix = confusion_matrix(GOLD, PRED, ["pos", "neg", "mix"])
    assert matrix.tolist() == [[2, 1, 0], [1, 1, 0], [1, 0, 0]]  # rows gold, columns predicted


def test_labels_fix_the_order_and_the_classes_averaged():
    assert confusion_matrix(["a", "b"], ["a", "a"], ["b", "a"]).tolist() == [[0, 1], [0, 1]]
    assert macro_f1(["a", "b"], ["a", "a"], ["a"]) == pytest.approx(2 / 3)  # only a: P = 1/2, R = 1


def test_multilabel_scores_by_hand():
    gold = [("sports",), ("politics", "sports"), ()]
    pred = [("sports",), ("sports",), ("politics",)]
    scores = multilabel_scores(gold, pred)
    assert scores["accuracy"] == pytest.approx(1 / 3)  # only the first set is exactly right
    # micro: TP 2 (sports twice), FP 1 (politics), FN 1 (politics) → P = R = 2/3
    assert scores["micro_f1"] == pytest.approx(2 / 3)
    # politics: TP 0 → F1 0; sports: P = R = 1 → F1 1
    assert scores["macro_f1"] == pytest.approx(0.5)
    assert scores["report"]["sports"]["support"] == 2


def test_bad_arguments():
    with pytest.raises(
        ValueError, match=r"expected one prediction per gold label, got 2 gold and 1 predicted"
    ):
        accuracy(["a", "b"], ["a"])
    with pytest.raises(
        ValueError, match=r"expected gold to be a sequence with one label per example, got a string"
    ):
        accuracy("ab", ["a", "b"])
    with pytest.raises(ValueError, match=r"expected at least one example"):
        macro_f1([], [])
    with pytest.raises(ValueError, match=r"expected gold to hold a collection of labels per example"):
        multilabel_scores(["a"], [("a",)])
    one = confusion_matrix(["a"], ["a"])  # one class: a 1 × 1 matrix, without scikit-learn's warning
    assert isinstance(one, np.ndarray) and one.tolist() == [[1]]
