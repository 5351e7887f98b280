"""fpps.server.bench: `fpps bench engine` (`engine`: in-process scenarios, steered vs unsteered
ratios in one run), `fpps bench http` (`http`: the server against the in-process engine) and
`fpps bench load` (`loadgen`: an open-loop load generator for a running server). JSON output;
beside `fpps.kernels.bench`.
"""
