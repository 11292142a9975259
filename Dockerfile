# citebot: CPU-only image with the bundled model; docs, index and cache are volumes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 \
    CITEBOT_DOCS=/data/docs CITEBOT_INDEX_DIR=/data/index CITEBOT_FEEDBACK_FILE=/data/index/feedback.jsonl \
    CITEBOT_CACHE_DIR=/data/cache

WORKDIR /app
# git: a link template's {rev} is the commit read from the docs folder's checkout (README,
# Citation links). Debian's current git; its version does not change what is read.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
# The CPU build of torch first, so nothing pulls the multi-GB CUDA build. Behind a mirror or
# proxy that cannot reach download.pytorch.org, pass --build-arg TORCH_INDEX_URL=<your mirror's
# CPU wheel index>, or TORCH_INDEX_URL= (empty) to take torch from your pip index (PyPI's is
# the larger CUDA build, which runs on the CPU as well). An unreachable index falls back to it.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN if [ -n "${TORCH_INDEX_URL}" ]; then \
      pip install --no-cache-dir torch==2.13.0 --index-url "${TORCH_INDEX_URL}" \
      || pip install --no-cache-dir torch==2.13.0; \
    else pip install --no-cache-dir torch==2.13.0; fi
# The dependencies, from pyproject.toml alone: a change to the code does not re-run this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY README.md citebot.yaml ./
COPY bot ./bot
COPY index ./index
RUN pip install --no-cache-dir --no-deps . \
    && useradd --create-home --uid 10001 citebot \
    && mkdir -p /data/docs /data/index /data/cache \
    && chown -R citebot:citebot /data
COPY --chown=citebot:citebot seeds /data/docs

USER 10001:10001
VOLUME ["/data/docs", "/data/index", "/data/cache"]
# `citebot run` builds the index before it logs in: the start period covers a first build of a
# few thousand passages on 2 cores. On SIGTERM it refuses new questions, closes the gateway and
# exits 0 within a few seconds.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=60s --timeout=10s --start-period=600s CMD ["sh", "-c", "citebot status > /dev/null || exit 1"]
ENTRYPOINT ["citebot"]
CMD ["run"]
