"""The chapter's claims as experiments: each a function with a small-budget and a full setting.

- ``bottleneck``: seq2seq with the fixed context vector against Bahdanau attention, accuracy against
  source length (the chapter's "fixed-length c is a bottleneck for long inputs").
"""
