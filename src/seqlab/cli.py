"""The ``seqlab`` command. Thin: each subcommand calls the public functions a Python user calls."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seqlab import __version__


def _recurrences(_: argparse.Namespace) -> int:
    from seqlab.recurrent import RECURRENCES, recurrence_options

    for name in sorted(RECURRENCES):
        options = ", ".join(f"{k}={v!r}" for k, v in recurrence_options(name).items()) or "no options"
        print(f"{name:8s} {RECURRENCES[name].__name__:10s} {options}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from seqlab import demo

    return demo.main([])


def _tour(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from seqlab.experiments.common import quiet_logs
    from seqlab.experiments.tour import Failure, plan, planned_minutes, run_tour

    quiet_logs()  # the tour prints its own summary
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    settings = {}
    for item in args.setting:
        name, sep, setting = item.partition("=")
        if not sep or not name or not setting:
            raise ValueError(f"tour: expected --setting EXPERIMENT=SETTING, got {item!r}")
        settings[name.strip()] = setting.strip()
    chosen = plan(args.budget, only, settings)
    print(
        f"seqlab tour: {len(chosen)} experiments, about {planned_minutes(chosen):.0f} min planned "
        f"(budget {args.budget:g} min): " + ", ".join(f"{n} ({s})" for n, s in chosen.items()),
        flush=True,
    )
    bar = tqdm(
        total=len(chosen),
        dynamic_ncols=True,
        bar_format="{desc}: {n_fmt}/{total_fmt} experiments |{bar}| {elapsed} elapsed",
    )

    def start(name: str, title: str, setting: str) -> None:
        bar.set_description(f"running {name} ({setting})")

    def done(name: str, result: Any) -> None:
        if isinstance(result, Failure):
            bar.write(f"  FAILED {name}: {result.error}")
        else:
            verdicts = [f.held for f in result.findings]
            bar.write(
                f"  {name}: {verdicts.count(True)} held, {verdicts.count(False)} did not, "
                f"{verdicts.count(None)} not decided ({result.seconds:.0f} s)"
            )
        bar.update(1)

    tour = run_tour(
        args.budget, args.out, seed=args.seed, only=only, settings=settings, on_start=start, on_done=done
    )
    bar.close()
    print(f"\nran in {tour.seconds / 60:.1f} min; report: {tour.report}")
    print(f"open it:  xdg-open {tour.report}   (or any browser)")
    return 1 if any(isinstance(r, Failure) for r in tour.results) else 0


def _training_configs(args: argparse.Namespace, data_cls: type, model_cls: type, model_defaults) -> tuple:
    """(data, model, training) configs: defaults < ``model_defaults(data)`` < YAML < command line."""
    from seqlab.options import build_config, read_yaml
    from seqlab.training import TrainConfig

    sections = read_yaml(args.config, ("data", "model", "train"))
    where = str(args.config or "command line")
    data = build_config(data_cls, args, sections["data"], where)
    model = build_config(model_cls, args, {**model_defaults(data), **sections["model"]}, where)
    return data, model, build_config(TrainConfig, args, sections["train"], where)


def _print_training(train_config: Any, result: Any) -> int:
    """The one-line JSON summary every ``train`` command prints."""
    out = {
        "model": str(train_config.out_dir / "model"),
        "best": result.best_score,
        "monitor": result.monitor,
        "epochs": result.epochs_run,
    }
    print(json.dumps(out))
    return 0


def _add_train_command(commands: Any, help_text: str, data_cls: type, model_cls: type, func) -> None:
    """``<task> train``: --config, --resume and one flag per field of the data, model and training configs."""
    from seqlab.options import add_options
    from seqlab.training import TrainConfig

    train = commands.add_parser("train", help=help_text)
    train.add_argument(
        "--config", type=Path, help="YAML file with sections data:, model:, train: (same names)"
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT_DIR/checkpoints/last.ckpt")
    add_options(train, data_cls, "data")
    add_options(train, model_cls, "model")
    add_options(train, TrainConfig, "training")
    train.set_defaults(func=func)


def _tag_train(args: argparse.Namespace) -> int:
    from seqlab.tasks.tagging import TaggerConfig
    from seqlab.tasks.tagging_run import DataConfig, default_scheme, train_tagger

    data, model_config, train_config = _training_configs(
        args, DataConfig, TaggerConfig, lambda data: {"scheme": default_scheme(data)}
    )
    _, result = train_tagger(data, model_config, train_config, resume=args.resume)
    return _print_training(train_config, result)


def _tag_evaluate(args: argparse.Namespace) -> int:
    from seqlab.tasks.tagging import Tagger
    from seqlab.tasks.tagging_run import evaluate_tagger, load_sentences

    model = Tagger.load(args.model)
    sentences = load_sentences(args.file, args.format, args.token_column, args.tag_column)
    print(json.dumps(evaluate_tagger(model, sentences)))
    return 0


@contextlib.contextmanager
def _input_lines(file: str) -> Iterator[Iterator[str]]:
    """UTF-8 lines of a file, or of standard input for ``-``; bad bytes are reported as ``name:line``."""
    from seqlab.data._io import decoded_lines

    if file == "-":
        yield decoded_lines(sys.stdin.buffer, "<stdin>")
        return
    with open(file, "rb") as f:
        yield decoded_lines(f, file)


def _tag_predict(args: argparse.Namespace) -> int:
    from seqlab.tasks.tagging import Tagger
    from seqlab.tasks.tagging_run import predict_lines

    model = Tagger.load(args.model)
    with _input_lines(args.file) as lines:
        for text in predict_lines(model, lines, args.output):
            sys.stdout.write(text)
    return 0


def _add_tag_commands(sub) -> None:
    from seqlab.tasks.tagging import TaggerConfig
    from seqlab.tasks.tagging_run import FORMATS, DataConfig

    tag = sub.add_parser("tag", help="sequence labeling: NER, POS tagging, Chinese word segmentation")
    tag_sub = tag.add_subparsers(dest="tag_command", required=True, metavar="COMMAND")
    _add_train_command(
        tag_sub,
        "train a BiLSTM-CRF tagger; every option can also be set in --config",
        DataConfig,
        TaggerConfig,
        _tag_train,
    )

    evaluate = tag_sub.add_parser("evaluate", help="score a model folder on a labelled file")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--format", choices=FORMATS, default="conll")
    evaluate.add_argument("--token-column", type=int, default=0)
    evaluate.add_argument("--tag-column", type=int, default=None)
    evaluate.set_defaults(func=_tag_evaluate)

    predict = tag_sub.add_parser("predict", help="tag raw text lines (a file, or - for standard input)")
    predict.add_argument("model", type=Path)
    predict.add_argument("file", nargs="?", default="-")
    predict.add_argument("--output", choices=("jsonl", "conll"), default="jsonl")
    predict.set_defaults(func=_tag_predict)


def _translate_train(args: argparse.Namespace) -> int:
    from seqlab.tasks.seq2seq import Seq2SeqConfig
    from seqlab.tasks.seq2seq_run import TransductionData, corpus_defaults, train_seq2seq

    data, model_config, train_config = _training_configs(
        args, TransductionData, Seq2SeqConfig, corpus_defaults
    )
    _, result = train_seq2seq(data, model_config, train_config, resume=args.resume)
    return _print_training(train_config, result)


def _translate_evaluate(args: argparse.Namespace) -> int:
    from seqlab.tasks.seq2seq import Seq2Seq
    from seqlab.tasks.seq2seq_run import TransductionData, corpus_pairs, evaluate_seq2seq, load_pairs

    model = Seq2Seq.load(args.model)
    if (args.file is None) == (args.corpus is None):
        raise ValueError("translate evaluate: give a FILE of pairs, or --corpus NAME (with --split)")
    if args.corpus is not None:
        data = TransductionData(
            corpus=args.corpus, corpus_examples=args.corpus_examples, split_seed=args.split_seed
        )
        pairs = corpus_pairs(data, args.split)
    else:
        pairs = load_pairs(args.file, TransductionData(train=args.file, dev=args.file, format=args.format))
    scores = evaluate_seq2seq(model, pairs, beam_size=args.beam_size, length_penalty=args.length_penalty)
    print(json.dumps(scores))
    return 0


def _translate_predict(args: argparse.Namespace) -> int:
    from seqlab.tasks.seq2seq import Seq2Seq
    from seqlab.tasks.seq2seq_run import predict_lines

    model = Seq2Seq.load(args.model)
    with _input_lines(args.file) as lines:
        for text in predict_lines(
            model,
            lines,
            beam_size=args.beam_size,
            nbest=args.nbest,
            length_penalty=args.length_penalty,
            output=args.output,
            heatmaps=args.heatmaps,
        ):
            sys.stdout.write(text)
            sys.stdout.flush()
    return 0


def _add_decoding_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--beam-size", type=int, default=1, help="1: greedy decoding (default: 1)")
    parser.add_argument(
        "--length-penalty", type=float, default=0.0, help="GNMT α: score = log p / ((5+|y|)/6)^α (default: 0)"
    )


def _add_translate_commands(sub) -> None:
    from seqlab.data import TRANSDUCTION_CORPORA
    from seqlab.tasks.seq2seq import Seq2SeqConfig
    from seqlab.tasks.seq2seq_run import FORMATS, TransductionData

    translate = sub.add_parser(
        "translate", help="sequence to sequence: G2P, numbers and dates, your own parallel text"
    )
    translate_sub = translate.add_subparsers(dest="translate_command", required=True, metavar="COMMAND")
    _add_train_command(
        translate_sub,
        "train an encoder-decoder with attention; every option can also be set in --config",
        TransductionData,
        Seq2SeqConfig,
        _translate_train,
    )

    evaluate = translate_sub.add_parser(
        "evaluate", help="score a model folder: exact match, token error rate, BLEU, chrF (and G2P WER)"
    )
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("file", type=Path, nargs="?", help="TSV or JSONL pairs (or use --corpus)")
    evaluate.add_argument("--format", choices=FORMATS, default="auto")
    evaluate.add_argument("--corpus", choices=sorted(TRANSDUCTION_CORPORA), help="a bundled corpus instead")
    evaluate.add_argument("--split", choices=("train", "valid", "test"), default="test")
    evaluate.add_argument("--corpus-examples", type=int, default=20000)
    evaluate.add_argument("--split-seed", type=int, default=0)
    _add_decoding_options(evaluate)
    evaluate.set_defaults(func=_translate_evaluate)

    predict = translate_sub.add_parser(
        "predict", help="transduce source lines (a file, or - for standard input)"
    )
    predict.add_argument("model", type=Path)
    predict.add_argument("file", nargs="?", default="-")
    _add_decoding_options(predict)
    predict.add_argument("--nbest", type=int, default=1, help="outputs per line, best first (jsonl output)")
    predict.add_argument("--output", choices=("text", "jsonl"), default="text")
    predict.add_argument("--heatmaps", type=Path, help="folder for one attention heatmap PNG per line")
    predict.set_defaults(func=_translate_predict)


def _classify_train(args: argparse.Namespace) -> int:
    from seqlab.tasks.classification import ClassifierConfig
    from seqlab.tasks.classification_run import ClassificationData, corpus_defaults, train_classifier

    data, model_config, train_config = _training_configs(
        args, ClassificationData, ClassifierConfig, corpus_defaults
    )
    _, result = train_classifier(data, model_config, train_config, resume=args.resume)
    return _print_training(train_config, result)


def _classify_data(args: argparse.Namespace, file: str, fmt: str):
    from seqlab.tasks.classification_run import ClassificationData

    return ClassificationData(
        train=file,
        dev=file,
        format=fmt,
        text_column=args.text_column,
        label_column=args.label_column,
        label_delimiter=args.label_delimiter,
    )


def _classify_evaluate(args: argparse.Namespace) -> int:
    from seqlab.tasks.classification import Classifier
    from seqlab.tasks.classification_run import (
        ClassificationData,
        corpus_examples,
        evaluate_classifier,
        load_examples,
    )

    model = Classifier.load(args.model)
    if (args.file is None) == (args.corpus is None):
        raise ValueError("classify evaluate: give a labelled FILE, or --corpus NAME (with --split)")
    if args.corpus is not None:
        data = ClassificationData(
            corpus=args.corpus, split_seed=args.split_seed, dev_fraction=args.dev_fraction
        )
        examples = corpus_examples(data, args.split)
    else:
        examples = load_examples(args.file, _classify_data(args, str(args.file), args.format), model.config)
    scores = evaluate_classifier(model, examples, confusion=args.confusion, batch_size=args.batch_size)
    print(json.dumps(scores, ensure_ascii=False))
    return 0


def _classify_predict(args: argparse.Namespace) -> int:
    from seqlab.tasks.classification import Classifier
    from seqlab.tasks.classification_run import load_examples, predict_examples, predict_lines

    model = Classifier.load(args.model)
    fmt = args.format
    if fmt == "auto":
        suffix = Path(args.file).suffix.lower() if args.file != "-" else ""
        fmt = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".ts": "ts"}.get(
            suffix, "lines"
        )
    if fmt == "lines":
        with _input_lines(args.file) as lines:
            name = "<stdin>" if args.file == "-" else args.file
            for text in predict_lines(
                model, lines, name=name, explain=args.explain, batch_size=args.batch_size
            ):
                sys.stdout.write(text)
        return 0
    if args.file == "-":
        raise ValueError(f"classify predict: --format {fmt} reads a file; standard input is read as lines")
    data = _classify_data(args, args.file, fmt)
    examples = load_examples(args.file, data, model.config, labelled=False)
    for text in predict_examples(model, examples, explain=args.explain, batch_size=args.batch_size):
        sys.stdout.write(text)
    return 0


def _add_classify_file_options(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument(
        "--format", choices=formats, default="auto", help="file format (default: auto, by the suffix)"
    )
    parser.add_argument("--text-column", default="text", help="CSV/TSV column or JSONL key of the text")
    parser.add_argument("--label-column", default="label", help="CSV/TSV column or JSONL key of the label")
    parser.add_argument(
        "--label-delimiter", default=",", help="multi-label models: separates the labels (default: ,)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="examples per forward pass (default: 64)")


def _add_classify_commands(sub) -> None:
    from seqlab.tasks.classification import ClassifierConfig
    from seqlab.tasks.classification_run import FORMATS, ClassificationData

    classify = sub.add_parser(
        "classify", help="sequence classification: sentiment of English and Chinese reviews, time series"
    )
    classify_sub = classify.add_subparsers(dest="classify_command", required=True, metavar="COMMAND")
    _add_train_command(
        classify_sub,
        "train an LSTM classifier (pooling last|mean|max|attention); options also in --config",
        ClassificationData,
        ClassifierConfig,
        _classify_train,
    )

    evaluate = classify_sub.add_parser(
        "evaluate", help="score a model folder: accuracy, macro-F1, per-class report, confusion matrix"
    )
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("file", type=Path, nargs="?", help="a labelled file (or use --corpus)")
    evaluate.add_argument(
        "--corpus", help="a bundled corpus instead: chinese_reviews, rotten_tomatoes or uea:<Name>"
    )
    evaluate.add_argument("--split", choices=("train", "valid", "test"), default="test")
    evaluate.add_argument("--split-seed", type=int, default=0)
    evaluate.add_argument(
        "--dev-fraction",
        type=float,
        default=0.1,
        help="uea: the TRAIN share held out as valid (default: 0.1)",
    )
    evaluate.add_argument("--confusion", type=Path, help="also draw the confusion matrix into this PNG")
    _add_classify_file_options(evaluate, FORMATS)
    evaluate.set_defaults(func=_classify_evaluate)

    predict = classify_sub.add_parser(
        "predict", help="classify texts, one per line (a file, or - for standard input), or a data file"
    )
    predict.add_argument("model", type=Path)
    predict.add_argument("file", nargs="?", default="-")
    predict.add_argument(
        "--explain", type=Path, help="also write an HTML page highlighting each text's attention weights"
    )
    _add_classify_file_options(predict, ("auto", "lines", *FORMATS[1:]))
    predict.set_defaults(func=_classify_predict)


def _forecast_train(args: argparse.Namespace) -> int:
    from seqlab.tasks.forecasting import ForecasterConfig
    from seqlab.tasks.forecasting_run import ForecastData, train_forecaster

    data, model_config, train_config = _training_configs(
        args, ForecastData, ForecasterConfig, lambda data: {}
    )
    _, result = train_forecaster(data, model_config, train_config, resume=args.resume)
    return _print_training(train_config, result)


def _forecast_series(args: argparse.Namespace) -> list:
    """The series a forecast evaluate / predict command names: a FILE, or --series (bundled)."""
    from seqlab.tasks.forecasting_run import ForecastData, load_series

    if (args.file is None) == (args.series is None):
        raise ValueError(f"forecast {args.forecast_command}: give a series FILE, or bundled --series NAME")
    data = ForecastData(
        train=None if args.file is None else str(args.file),
        series=args.series,
        format=args.format,
        layout=args.layout,
        timestamp_column=args.timestamp_column,
        id_column=args.id_column,
        value_column=args.value_column,
        covariates=args.covariates,
        freq=args.freq,
        nan=args.nan,
        gaps=args.gaps,
    )
    return load_series(data)


def _forecast_evaluate(args: argparse.Namespace) -> int:
    from seqlab.tasks.forecasting import Forecaster
    from seqlab.tasks.forecasting_run import evaluate_forecaster

    model = Forecaster.load(args.model)
    baselines = tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    scores = evaluate_forecaster(
        model,
        _forecast_series(args),
        origins=args.origins,
        step=args.step,
        seasonal_period=args.seasonal_period,
        baselines=baselines,
    )
    print(json.dumps(scores))
    return 0


def _forecast_predict(args: argparse.Namespace) -> int:
    from seqlab.tasks.forecasting import Forecaster
    from seqlab.tasks.forecasting_run import forecast_frame, plot_forecast, write_forecast

    model = Forecaster.load(args.model)
    series = _forecast_series(args)
    frame = forecast_frame(model, series)
    if args.output is None:
        sys.stdout.write(frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S"))
    else:
        write_forecast(frame, args.output)
    if args.plot is not None:
        forecasts = model.predict(series[:1])
        plot_forecast(
            series[0], forecasts[0], args.plot, interval=model.config.interval, history=args.history
        )
    return 0


def _add_series_file_options(parser: argparse.ArgumentParser) -> None:
    from seqlab.data.series import GAP_POLICIES, NAN_POLICIES, SERIES_CORPORA, SERIES_FORMATS, SERIES_LAYOUTS

    parser.add_argument("model", type=Path)
    parser.add_argument("file", type=Path, nargs="?", help="CSV or Parquet series (or use --series)")
    parser.add_argument("--series", help=f"bundled series instead: {', '.join(SERIES_CORPORA)} (a,b,…)")
    parser.add_argument("--format", choices=SERIES_FORMATS, default="auto")
    parser.add_argument("--layout", choices=SERIES_LAYOUTS, default="auto")
    parser.add_argument("--timestamp-column", default="timestamp")
    parser.add_argument("--id-column", default="series_id", help="long layout: the series id column")
    parser.add_argument("--value-column", default="value", help="long layout: the value column")
    parser.add_argument("--covariates", default="", help="comma-separated past covariate columns")
    parser.add_argument("--freq", help="pandas frequency alias (default: inferred from the timestamps)")
    parser.add_argument(
        "--nan", choices=NAN_POLICIES, default="error", help="missing values (default: error)"
    )
    parser.add_argument(
        "--gaps", choices=GAP_POLICIES, default="error", help="missing timestamps (default: error)"
    )


def _add_forecast_commands(sub) -> None:
    from seqlab.tasks.forecasting import ForecasterConfig
    from seqlab.tasks.forecasting_baselines import BASELINES
    from seqlab.tasks.forecasting_run import ForecastData

    forecast = sub.add_parser(
        "forecast", help="time-series forecasting with LSTM/GRU: train, backtest against baselines, predict"
    )
    forecast_sub = forecast.add_subparsers(dest="forecast_command", required=True, metavar="COMMAND")
    _add_train_command(
        forecast_sub,
        "train a recurrent forecaster (direct or autoregressive head); options also in --config",
        ForecastData,
        ForecasterConfig,
        _forecast_train,
    )

    evaluate = forecast_sub.add_parser(
        "evaluate",
        help="score a model folder on the last ORIGINS forecast windows of each series, next to the "
        "baselines: MAE, RMSE, sMAPE, MASE, interval coverage",
    )
    _add_series_file_options(evaluate)
    evaluate.add_argument("--origins", type=int, default=1, help="forecast origins per series (default: 1)")
    evaluate.add_argument("--step", type=int, help="steps between origins (default: the horizon)")
    evaluate.add_argument(
        "--seasonal-period", type=int, help="m of MASE and seasonal naive (default: by freq)"
    )
    evaluate.add_argument(
        "--baselines", default=",".join(BASELINES), help=f"comma-separated (default: {','.join(BASELINES)})"
    )
    evaluate.set_defaults(func=_forecast_evaluate)

    predict = forecast_sub.add_parser(
        "predict", help="forecast the steps after each series' end: CSV of timestamps, forecast, interval"
    )
    _add_series_file_options(predict)
    predict.add_argument("--output", type=Path, help="CSV file to write (default: standard output)")
    predict.add_argument(
        "--plot", type=Path, help="also draw the first series and its forecast into this PNG"
    )
    predict.add_argument("--history", type=int, default=None, help="plot: past steps shown (default: all)")
    predict.set_defaults(func=_forecast_predict)


def _transcribe_train(args: argparse.Namespace) -> int:
    from seqlab.tasks.speech import SpeechConfig
    from seqlab.tasks.speech_run import SpeechData, train_speech

    data, model_config, train_config = _training_configs(args, SpeechData, SpeechConfig, lambda data: {})
    _, result = train_speech(data, model_config, train_config, resume=args.resume)
    return _print_training(train_config, result)


def _transcribe_synth(args: argparse.Namespace) -> int:
    from seqlab.data.synth_speech import SynthConfig, synthesize_corpus

    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    config = SynthConfig(
        train=args.train,
        dev=args.dev,
        test=args.test,
        kind=args.kind,
        min_digits=args.min_digits,
        max_digits=args.max_digits,
        snr_min=args.snr_min,
        snr_max=args.snr_max,
        engines=engines,
        seed=args.seed,
    )
    manifests = synthesize_corpus(args.out, config)
    print(json.dumps({split: str(path) for split, path in manifests.items()}))
    return 0


def _transcribe_lm(args: argparse.Namespace) -> int:
    from seqlab.data._io import read_lines
    from seqlab.nn.ctc import NgramLM

    lm = NgramLM.train(read_lines(args.text), order=args.order, unit=args.unit)
    lm.save(args.out)
    print(json.dumps({"lm": str(args.out), "order": lm.order, "unit": lm.unit, "vocab": len(lm.vocab)}))
    return 0


def _decoding(args: argparse.Namespace) -> dict:
    from seqlab.nn.ctc import NgramLM

    lm = NgramLM.load(args.lm) if args.lm is not None else None
    return {"beam_size": args.beam_size, "lm": lm, "lm_weight": args.lm_weight,
            "insertion_bonus": args.insertion_bonus}  # fmt: skip


def _transcribe_evaluate(args: argparse.Namespace) -> int:
    from seqlab.data.audio import read_manifest
    from seqlab.tasks.speech import SpeechRecognizer
    from seqlab.tasks.speech_run import evaluate_speech

    model = SpeechRecognizer.load(args.model)
    scores = evaluate_speech(model, read_manifest(args.manifest), **_decoding(args))
    print(json.dumps(scores, ensure_ascii=False))
    return 0


def _transcribe_predict(args: argparse.Namespace) -> int:
    from seqlab.data.audio import Utterance, read_manifest
    from seqlab.tasks.speech import SpeechRecognizer
    from seqlab.tasks.speech_run import predict_speech, stream_lines

    model = SpeechRecognizer.load(args.model)
    if args.stream:
        for file in args.files:
            for line in stream_lines(model, file, chunk_ms=args.chunk_ms):
                sys.stdout.write(line)
                sys.stdout.flush()
        return 0
    inputs = []
    for file in args.files:
        if file.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            inputs.extend(read_manifest(file, labelled=False))
        else:
            inputs.append(Utterance(file, None, str(file)))
    for line in predict_speech(model, inputs, **_decoding(args)):
        sys.stdout.write(line)
    return 0


def _add_ctc_decoding_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--beam-size", type=int, default=1, help="1: greedy (default); more: prefix beam search"
    )
    parser.add_argument("--lm", type=Path, help="n-gram LM for shallow fusion (seqlab transcribe lm)")
    parser.add_argument("--lm-weight", type=float, default=0.5, help="α of the LM score (default: 0.5)")
    parser.add_argument("--insertion-bonus", type=float, default=0.0, help="β per character (default: 0)")


def _add_transcribe_commands(sub) -> None:
    from seqlab.nn.ctc import LM_UNITS
    from seqlab.tasks.speech import SpeechConfig
    from seqlab.tasks.speech_run import SpeechData

    transcribe = sub.add_parser(
        "transcribe", help="speech recognition with (Bi)LSTM + CTC: synthesise data, train, evaluate, stream"
    )
    transcribe_sub = transcribe.add_subparsers(dest="transcribe_command", required=True, metavar="COMMAND")
    synth = transcribe_sub.add_parser(
        "synth", help="write a speech corpus spoken by espeak-ng / flite voices (test voices held out)"
    )
    synth.add_argument(
        "--out", type=Path, required=True, help="folder for the clips and train/dev/test.jsonl"
    )
    synth.add_argument("--train", type=int, default=2000, help="clips (default: 2000)")
    synth.add_argument("--dev", type=int, default=200, help="clips (default: 200)")
    synth.add_argument("--test", type=int, default=300, help="clips (default: 300)")
    synth.add_argument("--kind", choices=("digits", "sentences", "mixed"), default="digits")
    synth.add_argument("--min-digits", type=int, default=3)
    synth.add_argument("--max-digits", type=int, default=8)
    synth.add_argument("--snr-min", type=float, default=10.0, help="background noise SNR, dB (default: 10)")
    synth.add_argument("--snr-max", type=float, default=30.0, help="(default: 30)")
    synth.add_argument(
        "--engines", default="espeak-ng,flite", help="comma-separated (default: espeak-ng,flite)"
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(func=_transcribe_synth)

    _add_train_command(
        transcribe_sub,
        'train a CTC recogniser on JSONL manifests ({"audio": ..., "text": ...}); options also in --config',
        SpeechData,
        SpeechConfig,
        _transcribe_train,
    )
    evaluate = transcribe_sub.add_parser(
        "evaluate", help="WER and CER of a model folder on a labelled manifest"
    )
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("manifest", type=Path)
    _add_ctc_decoding_options(evaluate)
    evaluate.set_defaults(func=_transcribe_evaluate)

    predict = transcribe_sub.add_parser(
        "predict",
        help="transcribe audio files or manifests: one JSON line each; --stream prints partial text",
    )
    predict.add_argument("model", type=Path)
    predict.add_argument("files", type=Path, nargs="+", help="WAV/FLAC files, or JSONL manifests")
    predict.add_argument(
        "--stream", action="store_true", help="feed each file in chunks (unidirectional models)"
    )
    predict.add_argument("--chunk-ms", type=float, default=100.0, help="streaming chunk (default: 100 ms)")
    _add_ctc_decoding_options(predict)
    predict.set_defaults(func=_transcribe_predict)

    lm = transcribe_sub.add_parser("lm", help="train a character or word n-gram LM from a text file")
    lm.add_argument("text", type=Path, help="one sentence per line")
    lm.add_argument("--out", type=Path, required=True, help="the LM's JSON file")
    lm.add_argument("--order", type=int, default=5, help="n (default: 5)")
    lm.add_argument("--unit", choices=LM_UNITS, default="char")
    lm.set_defaults(func=_transcribe_lm)


def _generate_train(args: argparse.Namespace) -> int:
    from seqlab.tasks.generation import LanguageModelConfig
    from seqlab.tasks.generation_run import GenerationData, train_generator

    data, model_config, train_config = _training_configs(
        args, GenerationData, LanguageModelConfig, lambda data: {}
    )
    _, result = train_generator(data, model_config, train_config, resume=args.resume)
    return _print_training(train_config, result)


def _model_kind(path: Path) -> str:
    """The ``kind`` a model folder's config.json names (the loaders give the precise errors)."""
    try:
        return json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get("kind", "")
    except (OSError, ValueError, AttributeError):
        return ""


def _sample_piano_roll(args: argparse.Namespace) -> int:
    from seqlab.tasks.chorales import PianoRollModel, write_sample

    model = PianoRollModel.load(args.model)
    if args.output is None:
        raise ValueError(
            "generate sample: a piano-roll model needs --output PATH (.mid; a .png is written too)"
        )
    midi, png = write_sample(model, args.output, args.max_tokens, seed=args.seed or 0)
    print(json.dumps({"midi": str(midi), "png": str(png), "frames": args.max_tokens}))
    return 0


def _generate_sample(args: argparse.Namespace) -> int:
    from seqlab.data.text import join_tokens
    from seqlab.tasks.generation import LanguageModel

    if _model_kind(args.model) == "piano_roll":
        return _sample_piano_roll(args)
    model = LanguageModel.load(args.model)
    level = model.config.level
    prime = args.prime.encode("utf-8").decode("unicode_escape") if args.escapes else args.prime
    if args.beam_size > 1:
        text = model.beam_continue(
            prime, max_tokens=args.max_tokens, beam_size=args.beam_size, unknown=args.unknown
        )
        sys.stdout.write(prime + text + "\n")
    else:
        tokens = model.generate(
            prime,
            max_tokens=args.max_tokens,
            greedy=args.greedy,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            unknown=args.unknown,
        )
        pieces = []
        if args.stream:  # each token as it comes
            sys.stdout.write(prime)
            for piece in tokens:
                pieces.append(piece)
                sys.stdout.write(piece if level == "char" else " " + piece)
                sys.stdout.flush()
            sys.stdout.write("\n")
        else:
            pieces = list(tokens)
        text = join_tokens(pieces, level)
        if not args.stream:
            sys.stdout.write(prime + text + "\n")
    if args.output is not None:
        _write_generated(prime + text, args.output)
    return 0


def _write_generated(text: str, path: Path) -> None:
    """Save generated text; to a .mid file, the first complete ABC tune of the text, as MIDI."""
    from seqlab.data._io import atomic_write_text

    if path.suffix.lower() in (".mid", ".midi"):
        from seqlab.data.music import abc_to_midi, split_abc

        tunes = split_abc(text)
        if not tunes:
            raise ValueError(
                f"{path}: the generated text holds no ABC tune (no 'X:' header) to write as MIDI"
            )
        abc_to_midi(tunes[0], path)
    else:
        atomic_write_text(path, text)
    logging.getLogger("seqlab").info("wrote %s", path)


def _generate_evaluate(args: argparse.Namespace) -> int:
    from seqlab.data.text import read_text
    from seqlab.tasks.generation import LanguageModel
    from seqlab.tasks.generation_run import corpus_text

    if _model_kind(args.model) == "piano_roll":
        from seqlab.data.music import bach_chorales
        from seqlab.tasks.chorales import PianoRollModel, evaluate_piano_roll

        if args.corpus != "chorales":
            raise ValueError("generate evaluate: a piano-roll model is scored on --corpus chorales")
        roll_model = PianoRollModel.load(args.model)
        rolls = bach_chorales(args.split, step=roll_model.config.step).rolls
        print(json.dumps({"nll": evaluate_piano_roll(roll_model, rolls), "chorales": len(rolls)}))
        return 0
    model = LanguageModel.load(args.model)
    if (args.file is None) == (args.corpus is None):
        raise ValueError("generate evaluate: give a text FILE, or a bundled --corpus NAME")
    text = read_text(args.file) if args.file is not None else corpus_text(args.corpus, args.split)
    scores = model.evaluate_text(text, bptt=args.bptt, unknown="unk")
    print(json.dumps(scores))
    return 0


def _add_generate_commands(sub) -> None:
    from seqlab.tasks.generation import UNKNOWN_POLICIES, LanguageModelConfig
    from seqlab.tasks.generation_run import ROLL_CORPORA, TEXT_CORPORA, GenerationData

    generate = sub.add_parser(
        "generate",
        help="generation: character/word LMs on text or ABC tunes, piano-roll models of the Bach chorales",
    )
    generate_sub = generate.add_subparsers(dest="generate_command", required=True, metavar="COMMAND")
    _add_train_command(
        generate_sub,
        "train a character or word language model (truncated BPTT, state carried across batches)",
        GenerationData,
        LanguageModelConfig,
        _generate_train,
    )
    sample = generate_sub.add_parser(
        "sample", help="continue a priming text: temperature, top-k, top-p, greedy or beam; --stream"
    )
    sample.add_argument("model", type=Path)
    sample.add_argument("--prime", default="\n", help="the text to continue (default: a newline)")
    sample.add_argument(
        "--escapes", action="store_true", help="read backslash escapes in --prime (\\n for a newline)"
    )
    sample.add_argument(
        "--max-tokens", type=int, default=500, help="tokens (piano rolls: frames) to generate (default: 500)"
    )
    sample.add_argument("--temperature", type=float, default=1.0, help="> 0 (default: 1)")
    sample.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens")
    sample.add_argument("--top-p", type=float, default=None, help="nucleus sampling: p in (0, 1]")
    sample.add_argument("--greedy", action="store_true", help="always the most likely token")
    sample.add_argument("--beam-size", type=int, default=1, help="> 1: the most likely continuation")
    sample.add_argument("--seed", type=int, default=None, help="for a reproducible sample")
    sample.add_argument("--stream", action="store_true", help="print each token as it is produced")
    sample.add_argument(
        "--unknown", choices=UNKNOWN_POLICIES, default="error",
        help="prime tokens outside the vocabulary: error (default), skip, or read as <unk>",
    )  # fmt: skip
    sample.add_argument(
        "--output",
        type=Path,
        help="also write the text here; a .mid file gets the first ABC tune as MIDI; piano-roll models "
        "write PATH.mid and PATH.png",
    )
    sample.set_defaults(func=_generate_sample)

    evaluate = generate_sub.add_parser("evaluate", help="loss, perplexity and bits per character on a text")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("file", type=Path, nargs="?", help="a UTF-8 text file")
    evaluate.add_argument("--corpus", choices=(*TEXT_CORPORA, *ROLL_CORPORA), help="a bundled corpus instead")
    evaluate.add_argument("--split", choices=("valid", "test"), default="test")
    evaluate.add_argument("--bptt", type=int, default=256, help="window length (default: 256)")
    evaluate.set_defaults(func=_generate_evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seqlab", description="Sequence models you can read and run.")
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("recurrences", help="list the registered recurrences and their options").set_defaults(
        func=_recurrences
    )
    sub.add_parser(
        "demo", help="stream a sequence through every recurrence and check all paths agree"
    ).set_defaults(func=_demo)
    tour = sub.add_parser(
        "tour",
        help="run the chapter's experiments within a time budget and write an HTML report",
        description="Run the chapter's experiments at the scale a time budget allows and write one "
        "self-contained HTML report (OUT/report.html): for every claim, what the chapter says, what was "
        "measured here, and whether it held.",
    )
    tour.add_argument("--budget", type=float, default=10.0, help="minutes (default 10)")
    tour.add_argument("--out", type=Path, default=Path("runs/tour"), help="report folder (default runs/tour)")
    tour.add_argument("--seed", type=int, default=0, help="seed of every experiment (default 0)")
    tour.add_argument("--only", default=None, help="comma-separated experiments (default: all)")
    tour.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="EXPERIMENT=SETTING",
        help="run an experiment at this setting whatever the budget, e.g. long_range=full (repeatable)",
    )
    tour.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    tour.set_defaults(func=_tour)
    _add_tag_commands(sub)
    _add_translate_commands(sub)
    _add_classify_commands(sub)
    _add_forecast_commands(sub)
    _add_transcribe_commands(sub)
    _add_generate_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, OSError) as err:  # bad input: one clear line, no traceback
        print(f"seqlab: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
