"""Benchmarks for the kernels (run by `fpps bench kernel`); measurements, not tests."""

from .kernel import run_kernel_bench

__all__ = ["run_kernel_bench"]
