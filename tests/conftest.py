"""Suite-wide settings. Set before anything imports triton or transformers."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # kernels run on the CPU under the interpreter
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be fetched from a hub
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

pytest_plugins = ["tests.pgcluster", "tests.faultdisk"]  # fixtures: a private PostgreSQL server, a small tmpfs


@pytest.fixture(scope="session")
def default_tokenizer():
    """The default model's tokenizer (chat template included), from the cached conversion."""
    from transformers import AutoTokenizer

    from fpps.steering import default_model_dir

    return AutoTokenizer.from_pretrained(str(default_model_dir()))


def make_tiny(family: str, tokenizer, layers: int = 3, width: int = 32):
    """A random-weight model of `family` built from a config (no download)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from fpps.steering import wrap_model

    torch.manual_seed(0)
    kw = dict(vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width,
              num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
              max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id or 0)
    if family == "gemma":
        kw["head_dim"] = width // 4
    cfg = AutoConfig.for_model(family, **kw)
    model = AutoModelForCausalLM.from_config(cfg).float()
    return wrap_model(model, tokenizer, name=f"tiny-{family}")


@pytest.fixture(scope="session")
def tiny_factory(default_tokenizer):
    """`make(family, layers=3, width=32)` -> a random-weight `ModelAdapter`."""
    return lambda family, **kw: make_tiny(family, default_tokenizer, **kw)


@pytest.fixture(scope="session")
def tiny_llama(default_tokenizer):
    return make_tiny("llama", default_tokenizer)


@pytest.fixture(scope="session")
def default_adapter():
    """The real default model (SmolLM2-135M-Instruct), fp32 on CPU."""
    from fpps.steering import load_model

    return load_model()
