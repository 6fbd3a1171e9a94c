"""Scores for sequence classification, computed by scikit-learn's ``sklearn.metrics``.

Multi-class (one label per example, strings):

- ``accuracy``: the fraction of examples whose predicted label is the gold one;
- ``macro_f1``: the unweighted mean over classes of each class's F1 (every class counts the same, however
  rare: the figure to watch on imbalanced data);
- ``classification_report``: precision, recall, F1 and support per class, plus the macro and weighted
  averages;
- ``confusion_matrix``: counts, row = gold label, column = predicted label.

Multi-label (a set of labels per example): ``multilabel_scores`` gives the subset accuracy (the whole set
right), micro and macro F1 over the labels, and the per-label report.

``labels`` fixes the classes and their order; by default, the sorted union of the gold and predicted
labels. A gold label the model never predicts (say one it never saw in training) is a class with
recall 0, not an error. A ratio with nothing to divide (a class never predicted) is 0, as in
scikit-learn with ``zero_division=0``.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "classification_report",
    "classification_scores",
    "confusion_matrix",
    "macro_f1",
    "multilabel_scores",
]


def _check(name: str, gold: Sequence[Any], pred: Sequence[Any]) -> None:
    for arg, value in (("gold", gold), ("pred", pred)):
        if isinstance(value, str):
            raise ValueError(
                f"{name}: expected {arg} to be a sequence with one label per example, got a string"
            )
    if len(gold) != len(pred):
        raise ValueError(
            f"{name}: expected one prediction per gold label, got {len(gold)} gold and {len(pred)} predicted"
        )
    if not gold:
        raise ValueError(f"{name}: expected at least one example, got none")


def _labels(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return sorted(set(gold) | set(pred))
    return list(labels)


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """The fraction of examples whose predicted label equals the gold label."""
    from sklearn.metrics import accuracy_score

    _check("accuracy", gold, pred)
    return float(accuracy_score(list(gold), list(pred)))


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None) -> float:
    """The mean of the per-class F1 over ``labels`` (default: every label in gold or pred)."""
    from sklearn.metrics import f1_score

    _check("macro_f1", gold, pred)
    return float(
        f1_score(list(gold), list(pred), labels=_labels(gold, pred, labels), average="macro", zero_division=0)
    )


def classification_report(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """Per class: precision, recall, f1, support; then ``macro avg`` and ``weighted avg``."""
    from sklearn.metrics import classification_report as report

    _check("classification_report", gold, pred)
    labels = _labels(gold, pred, labels)
    out = report(list(gold), list(pred), labels=labels, output_dict=True, zero_division=0)
    out.pop("accuracy", None)  # present only in some cases; accuracy() is the one place for it
    out.pop("micro avg", None)
    return {name: {k: float(v) for k, v in row.items()} for name, row in out.items()}


def confusion_matrix(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None
) -> np.ndarray:
    """Counts (K, K): entry [i, j] is the number of examples of gold label i predicted as label j."""
    from sklearn.metrics import confusion_matrix as matrix

    _check("confusion_matrix", gold, pred)
    with warnings.catch_warnings():  # one class is a valid 1 × 1 matrix here: the labels are explicit
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        return matrix(list(gold), list(pred), labels=_labels(gold, pred, labels))


def classification_scores(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None
) -> dict[str, float]:
    """``{"accuracy": …, "macro_f1": …}`` of a multi-class task."""
    return {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred, labels)}


def multilabel_scores(
    gold: Sequence[Collection[str]], pred: Sequence[Collection[str]], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Subset accuracy, micro/macro F1 and the per-label report of a multi-label task.

    ``gold`` and ``pred`` hold one collection of labels per example (possibly empty).
    """
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.metrics import classification_report as report
    from sklearn.preprocessing import MultiLabelBinarizer

    _check("multilabel_scores", gold, pred)
    for arg, value in (("gold", gold), ("pred", pred)):
        if any(isinstance(v, str) for v in value):
            raise ValueError(f"multilabel_scores: expected {arg} to hold a collection of labels per example")
    seen = {label for group in (*gold, *pred) for label in group}
    labels = sorted(seen) if labels is None else [*labels, *sorted(seen - set(labels))]
    binarizer = MultiLabelBinarizer(classes=labels)
    binarizer.fit([])
    y_true = binarizer.transform([set(g) for g in gold])
    y_pred = binarizer.transform([set(p) for p in pred])
    per_label = report(y_true, y_pred, target_names=labels, output_dict=True, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "report": {name: {k: float(v) for k, v in row.items()} for name, row in per_label.items()},
    }
