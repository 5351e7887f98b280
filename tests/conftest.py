"""Suite-wide settings. Set before anything imports triton or transformers."""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # kernels run on the CPU under the interpreter
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be fetched from a hub
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
