"""RNN vs Transformer: the KV-cache step agrees with the full forward, memory counts match known answers,
the decision rules say held and not held, and the tiny setting runs end to end."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.experiments import rnn_vs_transformer as rvt

TINY = rvt.SETTINGS["tiny"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("rnn_vs_transformer")
    return rvt.run("tiny", out, seed=0), out


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return rvt.build_models(TINY)


def test_tiny_run_reports_every_claim_undecided(tiny):
    result, _ = tiny
    assert result.name == "rnn_vs_transformer" and result.setting == "tiny" and result.seed == 0
    assert len(result.findings) == 4
    assert all(f.held is None for f in result.findings)  # tiny is too small to decide
    assert all(f.claim and f.measured for f in result.findings)
    assert result.seconds > 0
    assert result.settings["lengths"] == TINY["lengths"]


def test_tiny_tables_have_a_row_per_length_and_position(tiny):
    result, _ = tiny
    training, streaming = result.tables
    assert [row[0] for row in training.rows] == [str(T) for T in TINY["lengths"]]
    assert len(training.header) == 10
    n = TINY["generate_tokens"]
    expected = sorted({*(2**k for k in range(n.bit_length()) if 2**k <= n), n})
    assert [int(row[0]) for row in streaming.rows] == expected
    # the LSTM state never grows; the KV cache grows by the same amount every token
    assert len({row[4] for row in streaming.rows}) == 1
    cache = [int(row[5].replace(",", "")) for row in streaming.rows]
    assert all(c == cache[0] * t for c, t in zip(cache, expected))


def test_tiny_figures_are_png_and_json_round_trips(tiny):
    result, out = tiny
    assert [p.name for p in result.figures] == [
        "rnn_vs_transformer_training.png",
        "rnn_vs_transformer_streaming.png",
    ]
    for path in result.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(result.save(out).read_text())
    assert saved["name"] == "rnn_vs_transformer"
    assert [f["held"] for f in saved["findings"]] == [None] * 4
    assert saved["tables"][0]["rows"] == [list(r) for r in result.tables[0].rows]
    assert saved["settings"]["rules"] == rvt.RULES


def test_lstm_state_bytes_are_h_and_c_of_every_layer(models):
    model = models["lstm"]
    state = model.body.initial_state(5)
    assert rvt.state_bytes(state) == TINY["lstm_layers"] * 2 * 5 * TINY["lstm_hidden"] * 4


def test_saved_tensor_bytes_counts_each_saved_storage_once():
    x = torch.ones(10, requires_grad=True)
    y = torch.ones(10, requires_grad=True)
    assert rvt.saved_tensor_bytes(lambda: x.exp().sum()) == 40  # exp saves its output
    assert rvt.saved_tensor_bytes(lambda: (x * y).sum()) == 80  # mul saves both factors
    assert rvt.saved_tensor_bytes(lambda: (x * x).sum()) == 40  # the same storage twice
    with torch.no_grad():
        assert rvt.saved_tensor_bytes(lambda: x.exp().sum()) == 0


def test_textbook_attention_stores_the_weights_the_fused_kernel_does_not(models):
    model = models["transformer"]
    B, T = 2, 64
    fused = rvt.activation_memory(model, B, T)
    math_attention = rvt.activation_memory(model, B, T, math_attention=True)
    alpha = TINY["transformer_layers"] * B * TINY["heads"] * T * T * 4  # α of every layer, float32
    assert math_attention.saved_bytes - fused.saved_bytes >= alpha
    assert fused.saved_bytes > 0


def test_loglog_slope_reads_the_power():
    assert rvt.loglog_slope([2, 4, 8], [1, 16, 64]) == pytest.approx(2.0)
    assert rvt.loglog_slope([100, 200], [3, 6]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"two or more \(x, y\) pairs, got 1 x and 1 y"):
        rvt.loglog_slope([1], [1])


def _measured(**changes):
    measured = {
        "short_t_ratio": 0.8,
        "relative_growth": 3.0,
        "alpha_slope": 1.95,
        "lstm_slope": 1.0,
        "lstm_stream_ratio": 1.05,
        "lstm_state_growth": 1.0,
        "recompute_growth": 30.0,
    }
    return {**measured, **changes}


def test_decide_holds_on_the_chapter_s_picture():
    assert rvt.decide(_measured()) == dict.fromkeys(("short_t", "time_growth", "memory", "streaming"), True)


@pytest.mark.parametrize(
    ("change", "claim"),
    [
        ({"short_t_ratio": 1.2}, "short_t"),
        ({"short_t_ratio": 1.1001}, "short_t"),
        ({"relative_growth": 1.1}, "time_growth"),
        ({"alpha_slope": 1.0}, "memory"),
        ({"lstm_slope": 1.6}, "memory"),
        ({"lstm_stream_ratio": 2.0}, "streaming"),
        ({"lstm_state_growth": 2.0}, "streaming"),
        ({"recompute_growth": 1.1}, "streaming"),
    ],
)
def test_decide_fails_the_claim_its_rule_breaks(change, claim):
    held = rvt.decide(_measured(**change))
    assert held[claim] is False
    assert all(v for k, v in held.items() if k != claim)


def test_small_models_have_similar_parameter_counts():
    counts = {k: rvt._parameters(m) for k, m in rvt.build_models(rvt.SETTINGS["small"]).items()}
    lstm, transformer = counts["lstm"][0], counts["transformer"][1]  # the latter without its positions
    assert abs(lstm - transformer) / lstm < 0.1


def test_bad_setting_and_sizes_are_refused(models):
    with pytest.raises(
        ValueError, match=r"rnn_vs_transformer: unknown setting 'huge'; known: tiny, small, full"
    ):
        rvt.run("huge")
    with pytest.raises(ValueError, match=r"training_step: expected batch_size and length ≥ 1, got 2 and 0"):
        rvt.training_step(models["lstm"], 2, 0)
    with pytest.raises(ValueError, match=r"activation_memory: expected batch_size and length ≥ 1, got 0"):
        rvt.activation_memory(models["lstm"], 0, 4)
