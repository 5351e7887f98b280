"""Bring your own model (issue 20, item 5): a checkpoint of another family than the default
Llama-architecture SmolLM2, calibrated with `fpps calibrate`, served with `fpps serve --artifact`,
and the shipped artifact refused for it, naming the fingerprint.

Two Qwen2 checkpoints are built here (no download) and saved as local Hugging Face folders with
the default model's tokenizer and chat template, as a user's own checkpoint would arrive:

- `own`: SmolLM2-135M's weights re-expressed as a Qwen2 model (its q/k/v biases zero, so the same
  function): another model type, parameter list and fingerprint, the same shape as the shipped
  artifact's model, so only the fingerprint can refuse that artifact. Calibration needs a model
  that answers: its contrastive groups are factual questions answered right only without the
  history and personal ones right only with it, and a random-weight model answers none.
- `tiny`: random weights, hidden 64, 4 blocks, for the refusals that need no answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
# Two bundled training users whose default-model answers fall in both contrastive groups (the
# shipped manifest's `groups`): the smallest calibration that fits at all.
USERS = ("u0013", "u0028")
HISTORY = [[{"role": "user", "content": "I live in Sydney, the capital of Australia."}]]


def _fpps(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled")
    return subprocess.run([sys.executable, "-m", "fpps.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def _save_with_tokenizer(model, out: Path) -> str:
    """`model` plus the default model's tokenizer files (chat template included) in `out`."""
    from transformers import AutoTokenizer

    from fpps.steering import default_model_dir

    tok = AutoTokenizer.from_pretrained(str(default_model_dir()))
    model.config.vocab_size = len(tok)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    assert (out / "chat_template.jinja").is_file(), sorted(p.name for p in out.iterdir())
    return str(out)


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> str:
    """SmolLM2-135M-Instruct as a Qwen2 checkpoint folder (see the module doc)."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    from fpps.steering import default_model_dir

    llama = AutoModelForCausalLM.from_pretrained(str(default_model_dir()), dtype=torch.float32)
    c = llama.config
    cfg = Qwen2Config(vocab_size=c.vocab_size, hidden_size=c.hidden_size, intermediate_size=c.intermediate_size,
                      num_hidden_layers=c.num_hidden_layers, num_attention_heads=c.num_attention_heads,
                      num_key_value_heads=c.num_key_value_heads, head_dim=c.head_dim,
                      max_position_embeddings=c.max_position_embeddings, rms_norm_eps=c.rms_norm_eps,
                      rope_parameters=dict(c.rope_parameters), tie_word_embeddings=True,
                      bos_token_id=c.bos_token_id, eos_token_id=c.eos_token_id, pad_token_id=c.pad_token_id)
    qwen = AutoModelForCausalLM.from_config(cfg).float()
    missing, unexpected = qwen.load_state_dict(llama.state_dict(), strict=False)
    assert not unexpected and all(k.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")) for k in missing)
    with torch.no_grad():
        for k in missing:
            qwen.get_parameter(k).zero_()
        ids = torch.tensor([[1, 504, 3575, 282, 4649, 47]])
        assert torch.equal(qwen(ids).logits, llama(ids).logits)  # the same function
    return _save_with_tokenizer(qwen, tmp_path_factory.mktemp("own") / "qwen2-smol")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    """A random-weight Qwen2: hidden 64, 4 blocks, 4 heads (2 key/value)."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                      tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    return _save_with_tokenizer(AutoModelForCausalLM.from_config(cfg), tmp_path_factory.mktemp("tiny") / "qwen2-tiny")


def test_own_model_calibrates_serves_and_refuses_the_shipped_artifact(own, tmp_path):
    from fpps.eval.records import bundled_path
    from fpps.steering import ArtifactMismatchError, load_model
    from fpps.steering.artifact import load_artifact

    lines = [ln for ln in bundled_path().read_text().splitlines() if json.loads(ln)["user_id"] in USERS]
    data = tmp_path / "two-users.jsonl"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "artifact"

    t0 = time.monotonic()
    res = _fpps("calibrate", "--model", own, "--data", str(data), "--out", str(out), "--limit", "2",
                "--gammas", "0", "--threads", "1")  # 1: far faster on a shared CPU
    took = time.monotonic() - t0
    assert res.returncode == 0, res.stderr[-3000:]
    print(f"calibrate on {len(USERS)} users ({2 * len(USERS)} questions): {took:.1f} s")
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "fpps.safetensors").is_file()
    adapter = load_model(own)
    assert adapter.blocks_path == "model.layers" and type(adapter.model).__name__ == "Qwen2ForCausalLM"
    assert manifest["model_fingerprint"] == adapter.fingerprint and adapter.fingerprint.startswith("qwen2-576x30-")
    assert manifest["data"]["users"] == 2 and manifest["groups"]["degraded"] and manifest["groups"]["beneficial"]
    art = load_artifact(out, fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                        num_layers=adapter.num_layers)

    work = tmp_path / "serve"
    work.mkdir()
    server = Server(work, {"model": own, "artifact": str(out), "database_url": f"sqlite:///{work / 'memory.db'}",
                           "max_batch_size": 2, "max_queue": 2, "default_max_tokens": 16}).start()
    try:
        with server.client() as c:
            r = c.post("/v1/chat/completions", json={
                "messages": [{"role": "user", "content": "What is the capital of Australia?"}],
                "max_tokens": 16, "fpps": {"mode": "hard", "history": HISTORY}})
    finally:
        code = server.stop()
        server.kill()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["message"]["content"].strip()
    assert body["fpps"]["artifact_id"] == art.artifact_id and body["fpps"]["layer"] == manifest["layer"]
    assert code == 0, server.tail()

    # The shipped artifact fits SmolLM2's shape but not this model: refused before Ray starts
    # (the model type in its fingerprint), and by the full fingerprint once the model has loaded.
    shipped = load_artifact()
    for cmd in (["serve", "--model", own], ["chat", "--model", own, "What is the capital of Australia?"]):
        res = _fpps(*cmd, timeout=60)
        err = res.stderr.strip().splitlines()[-1]
        assert res.returncode == 2 and "fingerprint" in err and shipped.fingerprint in err, res.stderr
        assert "--artifact" in err and "qwen2" in err and "Traceback" not in res.stderr
    with pytest.raises(ArtifactMismatchError) as e:
        load_artifact(None, fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                      num_layers=adapter.num_layers)
    assert shipped.fingerprint in str(e.value) and adapter.fingerprint in str(e.value)
    assert "\n" not in str(e.value)


def test_tiny_random_model_loads_and_is_refused_clearly(tiny, tmp_path, caplog):
    import shutil

    from fpps.preflight_paths import shipped_artifact_dir as preflight_shipped
    from fpps.steering import ArtifactMismatchError, load_model
    from fpps.steering.artifact import load_artifact, shipped_artifact_dir

    assert preflight_shipped() == shipped_artifact_dir()  # the torch-free copy finds the same folder
    adapter = load_model(tiny)
    assert (adapter.blocks_path, adapter.num_layers, adapter.hidden_size) == ("model.layers", 4, 64)
    assert adapter.render_chat([{"role": "user", "content": "hi"}]).endswith("<|im_start|>assistant\n")
    # A folder whose tokenizer files were copied without chat_template.jinja loads, but says so.
    bare = shutil.copytree(tiny, tmp_path / "no-template", ignore=shutil.ignore_patterns("*.jinja"))
    with caplog.at_level("WARNING", logger="fpps.steering.adapter"):
        assert load_model(str(bare)).render_chat([{"role": "user", "content": "hi"}]) == "user: hi\nassistant:"
    assert "no chat template" in caplog.text
    with pytest.raises(ArtifactMismatchError, match="fingerprint") as e:
        load_artifact(None, fingerprint=adapter.fingerprint, hidden_size=adapter.hidden_size,
                      num_layers=adapter.num_layers)
    assert adapter.fingerprint in str(e.value) and "hidden size 576" in str(e.value)

    res = _fpps("serve", "--model", tiny, timeout=60)
    err = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and "--artifact" in err and "fingerprint" in err and "hidden size 576" in err, res.stderr
    # A random-weight model answers no question: calibration stops with one line, not a stack.
    res = _fpps("calibrate", "--model", tiny, "--data", str(REPO / "eval/data/pfqabench-mini.jsonl"),
                "--out", str(tmp_path / "art"), "--limit", "2", "--max-tokens", "4", "--threads", "2")
    err = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and "contrastive group is empty" in err and "--limit 2" in err, res.stderr
    assert "Traceback" not in res.stderr
