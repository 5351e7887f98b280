"""`fpps chat` on the real default model: history bends the answer, the hard twin edit restores it."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fpps.steering.artifact import SteeringArtifact, save_artifact

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
QUESTION = "What is the capital of Australia?"


def _fpps(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("fpps")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600)


def test_chat_compare_shows_history_bending_and_hard_steering_restoring(default_adapter, tmp_path):
    d = default_adapter.hidden_size
    # A probe that always fires (p_hat = sigmoid(3) = 0.95) at a late layer: isolates the twin edit.
    art = SteeringArtifact(layer=24, w=torch.zeros(d), b=3.0, s_f=torch.zeros(d),
                           fingerprint=default_adapter.fingerprint,
                           defaults={"gamma": 0.0, "tau_hard": 0.5, "tau_mixed": 0.5})
    folder = save_artifact(art, tmp_path / "art")
    res = _fpps("chat", "--history", str(REPO / "examples" / "sydney-history.json"), "--mode", "mixed",
                "--artifact", str(folder), "--compare", "--max-tokens", "16", QUESTION)
    assert res.returncode == 0, res.stderr
    steered, unsteered = res.stdout.split("[unsteered]")
    assert "gate=hard" in steered and "p_hat=0.953" in steered
    assert "Canberra" in steered
    assert "Sydney" in unsteered and "Canberra" not in unsteered


def test_chat_rejects_a_bad_strength_naming_it():
    res = _fpps("chat", "--strength", "1.5", QUESTION)
    assert res.returncode == 2 and "alpha" in res.stderr
