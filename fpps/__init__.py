"""fpps: Factuality-Preserving Personalized Steering (Sun et al., arXiv 2601.11000) as a server.

Subpackages: `fpps.steering` (the method), `fpps.kernels` (the fused edit), `fpps.server`
(engine, HTTP), `fpps.eval` (PFQABench). The `fpps` command lives in `fpps.cli`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
