"""Run the resume test's training in a process of its own, so the test can kill it with SIGKILL.

    python tests/training/train_toy.py OUT_DIR

Validation sleeps a little each epoch, leaving the test time to kill the run between checkpoints.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.training

from seqlab.training import fit
from tests.training.toy import resume_case

if __name__ == "__main__":
    model, train, val, config = resume_case(sys.argv[1], val_sleep=0.5)
    fit(model, train, val, config)
