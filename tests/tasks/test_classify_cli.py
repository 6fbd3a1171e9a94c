"""`seqlab classify train|evaluate|predict` end to end on tiny files, and every bad input of the issue."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqlab.cli import main
from seqlab.data import Example
from seqlab.tasks import Classifier, ClassifierConfig
from seqlab.tasks.classification_run import ClassificationData, explanation_html, predict_examples

ROWS = [
    ("a great fun film", "pos"),
    ("great acting and a fine plot", "pos"),
    ("fine fun", "pos"),
    ("a truly great story", "pos"),
    ("a dull boring film", "neg"),
    ("boring plot and dull acting", "neg"),
    ("awful", "neg"),
    ("a truly awful story", "neg"),
]
TINY = ["--embedding-dim", "8", "--hidden-size", "8", "--attention-size", "8", "--dropout", "0"]
TRAINING = ["--lr", "0.05", "--batch-size", "8", "--no-progress-bar", "--seed", "0"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def csv_file(path, rows, header="text,label"):
    path.write_text(header + "\n" + "".join(f"{t},{label}\n" for t, label in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny attention classifier trained through the command line with a YAML config."""
    folder = tmp_path_factory.mktemp("classify")
    data = csv_file(folder / "train.csv", ROWS)
    config = folder / "classify.yaml"
    config.write_text(
        f"data:\n  train: {data}\n  dev: {data}\nmodel:\n  pooling: attention\n  hidden_size: 32\n"
        "train:\n  max_epochs: 2\n",
        encoding="utf-8",
    )
    out = folder / "run"
    code = main(
        [
            "classify",
            "train",
            "--config",
            str(config),
            "--out-dir",
            str(out),
            "--max-epochs",
            "25",
            *TINY,
            *TRAINING,
        ]
    )
    assert code == 0
    return folder, out / "model", data


@pytest.mark.slow
def test_train_with_yaml_and_command_line_precedence(trained, capsys):
    _, model, _ = trained
    saved = json.loads((model / "config.json").read_text())["config"]
    assert saved["pooling"] == "attention"  # from YAML
    assert saved["hidden_size"] == 8  # the command line beat YAML
    loaded = Classifier.load(model)
    assert [p.labels[0] for p in loaded.predict([t for t, _ in ROWS])] == [label for _, label in ROWS]


@pytest.mark.slow
def test_evaluate_writes_scores_and_a_confusion_png(trained, capsys, tmp_path):
    _, model, data = trained
    png = tmp_path / "confusion.png"
    assert main(["classify", "evaluate", str(model), str(data), "--confusion", str(png)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["accuracy"] == 1.0 and scores["macro_f1"] == 1.0 and scores["examples"] == 8
    assert scores["confusion"] == {"labels": ["neg", "pos"], "matrix": [[4, 0], [0, 4]]}
    assert set(scores["report"]) >= {"neg", "pos", "macro avg"}
    assert png.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.slow
def test_evaluate_reports_a_label_never_seen_in_training(trained, capsys, tmp_path):
    _, model, _ = trained
    test = csv_file(tmp_path / "test.csv", [*ROWS[:2], ("a fine but dull film", "mixed")])
    assert main(["classify", "evaluate", str(model), str(test)]) == 0
    captured = capsys.readouterr()
    scores = json.loads(captured.out)
    assert scores["unseen_labels"] == {"mixed": 1} and scores["report"]["mixed"]["support"] == 1
    assert scores["confusion"]["labels"] == ["neg", "pos", "mixed"]


@pytest.mark.slow
def test_predict_lines_jsonl_attention_and_html_explanation(trained, capsys, tmp_path, caplog):
    _, model, _ = trained
    text = tmp_path / "input.txt"
    text.write_text("a great <script>alert(1)</script> film\n\nawful\n", encoding="utf-8")
    html_path = tmp_path / "explain.html"
    assert main(["classify", "predict", str(model), str(text), "--explain", str(html_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in (lines[0], lines[2])] == ["pos", "neg"]
    first = lines[0]
    assert first["text"] == "a great <script>alert(1)</script> film"
    assert len(first["attention"]) == len(first["tokens"]) and sum(first["attention"]) == pytest.approx(
        1, abs=1e-5
    )
    assert sum(first["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert lines[1]["text"] == "" and lines[1]["tokens"] == [] and lines[1]["label"] in ("pos", "neg")
    assert f"{text}:2): predicted from the empty sequence" in caplog.text
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr>") == 4  # header + 3 inputs
    assert "<script>" not in page and "&lt;" in page  # the input's markup is shown, never run
    assert 'style="background:rgba(255,127,14,1.000)"' in page  # the most attended token, fully shaded


@pytest.mark.slow
def test_predict_reads_a_csv_column(trained, capsys, tmp_path):
    _, model, _ = trained
    file = tmp_path / "in.csv"
    file.write_text("id,review\n1,great fun\n2,dull and boring\n", encoding="utf-8")
    assert main(["classify", "predict", str(model), str(file), "--text-column", "review"]) == 0
    assert [json.loads(line)["label"] for line in capsys.readouterr().out.splitlines()] == ["pos", "neg"]


def assert_one_line_error(capsys, *parts: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("seqlab: error: "), err
    for part in parts:
        assert part in err[-1], (part, err[-1])


def test_bad_training_files_exit_2_with_file_and_line(tmp_path, capsys):
    good = csv_file(tmp_path / "good.csv", ROWS)
    cases = {
        "notext.csv": ("label,text\npos,great\nneg\n", "notext.csv:3: missing text (column 'text'"),
        "nolabel.csv": (
            "text,label\ngreat,pos\ndull,\n",
            "nolabel.csv:3: missing label (column 'label' is empty)",
        ),
        "columns.csv": (
            "review,sentiment\ngreat,pos\n",
            "no text column 'text'; the columns found are ['review', ",
        ),
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / name
        bad.write_text(content, encoding="utf-8")
        args = [
            "classify",
            "train",
            "--train",
            str(bad),
            "--dev",
            str(good),
            "--out-dir",
            str(tmp_path / "r"),
        ]
        assert main(args) == 2, name
        assert_one_line_error(capsys, str(bad), message)
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"text": "great", "label": "pos"}\n{"label": "neg"}\n', encoding="utf-8")
    assert (
        main(["classify", "train", "--train", str(jsonl), "--dev", str(good), "--out-dir", str(tmp_path)])
        == 2
    )
    assert_one_line_error(capsys, f"{jsonl}:2: missing text (no 'text')")


def test_bad_options_exit_2(tmp_path, capsys):
    good = csv_file(tmp_path / "good.csv", ROWS)
    config = tmp_path / "bad.yaml"
    config.write_text("model:\n  pool: max\n", encoding="utf-8")
    assert main(["classify", "train", "--config", str(config), "--train", str(good), "--dev", str(good)]) == 2
    assert_one_line_error(capsys, "unknown option(s) ['pool']; known: attention_size")
    assert main(["classify", "train", "--corpus", "imdb"]) == 2
    assert_one_line_error(
        capsys, "unknown corpus 'imdb'; known: chinese_reviews, rotten_tomatoes, uea:<Name>"
    )
    assert main(["classify", "train", "--train", str(good), "--dev", str(good), "--pooling", "sum"]) == 2
    assert_one_line_error(capsys, "unknown pooling 'sum'; known: last, mean, max, attention")
    assert main(["classify", "evaluate", str(tmp_path / "no-model"), str(good)]) == 2
    assert_one_line_error(capsys, "does not exist")


def test_data_config_validation():
    with pytest.raises(ValueError, match=r"give --train and --dev files, or a bundled --corpus"):
        ClassificationData()
    with pytest.raises(ValueError, match=r"unknown format 'xml'; known: auto, csv, tsv, jsonl, ts"):
        ClassificationData(train="a", dev="b", format="xml")
    assert ClassificationData(corpus="uea:GunPoint").corpus == "uea:GunPoint"


def test_explain_needs_attention_pooling_and_escapes_markup():
    model = Classifier.from_data(
        [Example(text="good", labels=("pos",)), Example(text="bad", labels=("neg",))],
        ClassifierConfig(embedding_dim=4, hidden_size=4),
    )
    with pytest.raises(ValueError, match=r"this model pools with 'last'; train with --pooling attention"):
        list(predict_examples(model, [Example(text="good")], explain="x.html"))
    prediction = model.predict(["good"])[0]._replace(tokens=("<b>&", "x"), attention=(0.75, 0.25))
    page = explanation_html([prediction])
    assert "&lt;b&gt;&amp;" in page and "<b>&" not in page
    assert "rgba(255,127,14,1.000)" in page and "rgba(255,127,14,0.333)" in page  # α / max α


@pytest.mark.slow
def test_time_series_from_ts_files_end_to_end(tmp_path, capsys):
    rng = np.random.default_rng(0)

    def ts_file(path, n):
        lines = ["@problemName Slopes", "@univariate false", "@dimensions 2", "@equalLength false"]
        lines += ["@classLabel true up down", "@data"]
        for k in range(n):
            T = int(rng.integers(5, 10))
            t = np.linspace(0, 1, T)
            label = "up" if k % 2 == 0 else "down"
            first = 5 * t if label == "up" else 5 * (1 - t)
            noise = rng.normal(0, 0.1, T)
            lines.append(
                ",".join(f"{v:.4f}" for v in first) + ":" + ",".join(f"{v:.4f}" for v in noise) + f":{label}"
            )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    train, test = ts_file(tmp_path / "s_TRAIN.ts", 16), ts_file(tmp_path / "s_TEST.ts", 6)
    out = tmp_path / "run"
    args = ["classify", "train", "--train", str(train), "--dev", str(train), "--out-dir", str(out)]
    assert main([*args, "--max-epochs", "30", *TINY, *TRAINING]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["best"] == 1.0
    assert json.loads((out / "model" / "config.json").read_text())["config"]["inputs"] == "series"
    assert main(["classify", "evaluate", str(out / "model"), str(test)]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0
    assert main(["classify", "predict", str(out / "model"), str(test)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in records] == ["up", "down"] * 3
    assert records[0]["origin"] == f"{test}:7"
