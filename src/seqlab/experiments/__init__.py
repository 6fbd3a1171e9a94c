"""The chapter's claims as experiments, each a module with a tiny, a small and a full setting.

Every module has ``run(setting, out_dir, *, seed) -> ExperimentResult`` (see ``common``): for each claim,
what the chapter says, what was measured here, and whether it held; plus tables and PNG figures.
``python -m seqlab.experiments.<name> --setting full`` runs one; ``seqlab tour`` runs them all within a
time budget and writes one HTML report (``tour``).

- ``agreement``: every recurrence's fast path ≡ its textbook equations ≡ streaming, step or chunks.
- ``gradients``: vanishing and exploding gradients, ‖∂L/∂h_k‖ against the distance T − k.
- ``long_range``: the adding problem and the copy task, success against sequence length; clipping and
  the forget-gate bias.
- ``lstm_vs_gru``: the chapter's LSTM vs GRU table: parameters, speed, quality on two tasks.
- ``bottleneck``: seq2seq with the fixed context vector against Bahdanau attention, by source length.
- ``rnn_vs_transformer``: training time and memory against T, streaming latency and state vs KV cache.
- ``edge``: a streaming LSTM's per-token latency, model size, dynamic int8 quantisation.
- ``segmenter``: the tagging demo, a Chinese word segmenter (BiLSTM-CRF) trained in a minute or two.
"""
