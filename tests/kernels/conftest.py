"""Kernel tests run on CPU under Triton's interpreter (`TRITON_INTERPRET=1`, the default here).

The variable must be set before triton is first imported: `triton.jit` picks the interpreter
when it decorates, both triton's own library functions and our kernel. On a GPU machine,
`TRITON_INTERPRET=0 pytest tests/kernels` runs the same tests compiled on CUDA.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")

import sys  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

INTERPRET = os.environ["TRITON_INTERPRET"] == "1"

# A test folder collected earlier (tests/engine, say) may already have imported triton without
# the interpreter; its jit functions cannot be re-decorated then. Fail loudly, not confusingly.
_tl = sys.modules.get("triton.language")
if INTERPRET and _tl is not None and type(_tl.standard.sum).__name__ != "InterpretedFunction":
    raise pytest.UsageError(
        "triton was imported before TRITON_INTERPRET=1 was set; set it in the environment or at "
        "the top of tests/conftest.py (before anything imports fpps.kernels)"
    )


@pytest.fixture(scope="session")
def device() -> torch.device:
    """Where the kernel runs: CPU under the interpreter, else the GPU."""
    if INTERPRET:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        pytest.skip("TRITON_INTERPRET=0 needs a CUDA device")
    return torch.device("cuda")
