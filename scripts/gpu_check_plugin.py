"""A pytest plugin for `scripts/gpu_check.py`: the engine parity tests' models on another device.

The suite's fixtures load every model on the CPU (`tests/conftest.py`). With
`FPPS_TEST_DEVICE=cuda` and `-p gpu_check_plugin` (this folder on `PYTHONPATH`), every model
that passes through `fpps.steering.adapter.wrap_model` (the default model's `load_model`, the
tiny random models of `make_tiny`) moves to that device first, so the same tests and the same
exactness assertions run there. Without the variable the plugin does nothing.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

__all__ = ["pytest_configure", "pytest_report_header"]


def pytest_configure(config: pytest.Config) -> None:
    device = os.environ.get("FPPS_TEST_DEVICE")
    if not device:
        return
    from fpps.steering import adapter

    wrap = adapter.wrap_model

    def wrap_on_device(hf_model: Any, tokenizer: Any, **kw: Any) -> Any:
        return wrap(hf_model.to(device), tokenizer, **kw)

    # load_model calls the module global, and `from fpps.steering import wrap_model` resolves
    # through the module's attribute at call time: one assignment reaches both.
    adapter.wrap_model = wrap_on_device


def pytest_report_header(config: pytest.Config) -> str:
    return f"fpps models on: {os.environ.get('FPPS_TEST_DEVICE') or 'cpu (as the fixtures load them)'}"
