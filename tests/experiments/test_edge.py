"""Streaming and edge: the torch copy of a seqlab LM computes the same thing, int8 shrinks and stays close,
bits per character and the decision rules give known answers, and the tiny setting runs end to end."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from seqlab.experiments import edge
from seqlab.tasks.generation import LanguageModel, LanguageModelConfig

TINY = edge.SETTINGS["tiny"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("edge")
    return edge.run("tiny", out, seed=0), out


def _lm(**changes) -> LanguageModel:
    torch.manual_seed(0)
    config = LanguageModelConfig(
        **{"embedding_dim": 8, "hidden_size": 16, "num_layers": 2, "dropout": 0.0, **changes}
    )
    return LanguageModel.from_text("abcdefgh ij\n", config).eval()


def test_tiny_run_reports_every_claim_undecided(tiny):
    result, _ = tiny
    assert result.name == "edge" and result.setting == "tiny" and result.seed == 0
    assert len(result.findings) == 4 and all(f.held is None for f in result.findings)
    assert result.settings["hidden_sizes"] == TINY["hidden_sizes"]
    bpc = result.settings["measured"]["bpc"]
    assert bpc["seqlab float32"] == pytest.approx(bpc["torch float32"], abs=1e-4)  # the same model
    assert 0 < bpc["int8"] < 10


def test_tiny_table_and_figure_and_json(tiny):
    result, out = tiny
    (table,) = result.tables
    assert [row[0] for row in table.rows] == [str(H) for H in TINY["hidden_sizes"]]
    assert len(table.header) == 10 and all(len(row) == 10 for row in table.rows)
    assert result.figures[0].name == "edge.png"
    assert result.figures[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(result.save(out).read_text())
    assert saved["findings"] == [
        {"claim": f.claim, "measured": f.measured, "held": None} for f in result.findings
    ]
    assert saved["settings"]["rules"] == edge.RULES


def test_torch_copy_computes_what_the_seqlab_model_computes():
    model = _lm()
    copy = edge.TorchLM.from_language_model(model).eval()
    tokens = torch.randint(len(model.vocab), (3, 9))  # (B, T)
    with torch.no_grad():
        ours, _ = model(tokens)
        theirs, _ = copy(tokens)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-5)


def test_torch_copy_refuses_models_torch_cannot_express():
    with pytest.raises(ValueError, match=r"expected an LSTM LanguageModel .* got architecture='transformer'"):
        edge.TorchLM.from_language_model(_lm(architecture="transformer", num_heads=2))
    with pytest.raises(ValueError, match=r"recurrence='gru'"):
        edge.TorchLM.from_language_model(_lm(recurrence="gru"))
    with pytest.raises(ValueError, match=r"tie_weights=True"):
        edge.TorchLM.from_language_model(_lm(tie_weights=True))


def test_int8_copy_is_quantized_close_and_about_four_times_smaller():
    model = _lm(hidden_size=256, embedding_dim=64)
    float_lm = edge.TorchLM.from_language_model(model).eval()
    int8_lm = edge.quantize(float_lm)
    assert type(int8_lm.lstm).__module__.startswith("torch.ao.nn.quantized.dynamic")
    assert type(float_lm.lstm) is nn.LSTM  # quantize made a copy
    tokens = torch.randint(len(model.vocab), (2, 20))
    with torch.no_grad():
        a, b = float_lm(tokens)[0], int8_lm(tokens)[0]
    assert (a - b).abs().max() < 0.05 * a.abs().max()
    assert edge.serialized_bytes(float_lm) / edge.serialized_bytes(int8_lm) > 3.5
    with pytest.raises(ValueError, match=r"quantize: expected an nn.Module, got str"):
        edge.quantize("lstm")


def test_serialized_bytes_is_the_weights_plus_a_small_header():
    layer = nn.Linear(100, 100)
    weights = (100 * 100 + 100) * 4
    assert weights < edge.serialized_bytes(layer, "safetensors") < weights + 300
    assert weights < edge.serialized_bytes(layer) < weights + 2000
    with pytest.raises(ValueError, match=r"unknown format 'onnx'; known: torch, safetensors"):
        edge.serialized_bytes(layer, "onnx")


class _Uniform(nn.Module):
    def __init__(self, V: int) -> None:
        super().__init__()
        self.V = V

    def forward(self, tokens, state=None):
        return torch.zeros(*tokens.shape, self.V), state  # (B, T, V)


def test_bits_per_char_of_a_uniform_model_is_log2_of_the_vocabulary():
    ids = torch.randint(10, (200,))
    assert edge.bits_per_char(_Uniform(10), ids) == pytest.approx(math.log2(10))
    with pytest.raises(
        ValueError, match=r"expected a 1-D stream of at least 32 token ids, got shape \(2, 5\)"
    ):
        edge.bits_per_char(_Uniform(10), torch.zeros(2, 5, dtype=torch.long))


def _measured(**changes):
    measured = {
        "stream_ratios": [1.0, 1.1, 0.9],
        "size_ratio": 3.9,
        "speedups": [0.8, 1.4, 1.7],
        "batch_speedups": [1.0, 1.6, 2.5],
        "bpc_change": 0.001,
    }
    return {**measured, **changes}


def test_decide_holds_on_the_chapter_s_picture():
    assert edge.decide(_measured()) == dict.fromkeys(("streaming", "size", "speed", "accuracy"), True)


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        ({"stream_ratios": [1.0, 1.5, 1.0]}, "streaming"),
        ({"size_ratio": 2.0}, "size"),
        ({"speedups": [1.3, 1.4, 1.7]}, "speed"),  # pays at small H too: not "only for large"
        ({"speedups": [0.8, 0.9, 1.1]}, "speed"),  # never pays
        ({"batch_speedups": [1.5, 1.6, 2.5]}, "speed"),
        ({"bpc_change": -0.2}, "accuracy"),
    ],
)
def test_decide_fails_the_claim_its_rule_breaks(change, claim):
    held = edge.decide(_measured(**change))
    assert held[claim] is False
    assert all(v for k, v in held.items() if k != claim)


def test_training_text_is_whole_training_plays_stopped_after_enough():
    from seqlab.data.text import SHAKESPEARE_SPLITS, read_text, shakespeare_plays

    plays = shakespeare_plays()
    held_out = {name for names in SHAKESPEARE_SPLITS.values() for name in names}
    first, second = [read_text(path) + "\n" for name, path in plays.items() if name not in held_out][:2]
    assert edge._training_text(10) == first
    assert edge._training_text(len(first) + 1) == first + second


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match=r"edge: unknown setting 'huge'; known: tiny, small, full"):
        edge.run("huge")
