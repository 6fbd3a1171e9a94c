"""Every recurrence's four paths agree, and the finding says so only when they do."""

from __future__ import annotations

import pytest

from seqlab.experiments import agreement


def test_tiny_run_checks_every_recurrence():
    result = agreement.run("tiny")
    (finding,) = result.findings
    (table,) = result.tables
    assert finding.held is True and len(table.rows) == 14
    for row in table.rows:
        assert all(float(cell) < agreement.TOLERANCE for cell in row[2:5])
    assert {row[0] for row in table.rows} >= {"rnn", "lstm", "gru", "mingru", "mlstm num_heads=4", "rwkv"}


def test_a_disagreeing_path_is_reported(monkeypatch):
    import seqlab.demo

    real = seqlab.demo.run

    def off_by_a_bit(**kwargs):
        rows = real(**kwargs)
        rows[1]["max |step − pass|"] = 1e-3
        return rows

    monkeypatch.setattr(seqlab.demo, "run", off_by_a_bit)
    (finding,) = agreement.run("tiny").findings
    assert finding.held is False and "largest difference 1.0e-03" in finding.measured


def test_bad_setting():
    with pytest.raises(ValueError, match=r"agreement: unknown setting 'big'; known: tiny, small, full"):
        agreement.run("big")
