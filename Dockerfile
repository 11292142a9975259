# citebot: CPU-only image with the bundled model; docs and index are volumes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 \
    CITEBOT_DOCS=/data/docs CITEBOT_INDEX_DIR=/data/index CITEBOT_FEEDBACK_FILE=/data/index/feedback.jsonl \
    CITEBOT_CACHE_DIR=/data/cache

WORKDIR /app
# CPU build of torch first, so nothing pulls the multi-GB CUDA build.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url "${TORCH_INDEX_URL}"
COPY pyproject.toml README.md citebot.yaml ./
COPY bot ./bot
COPY index ./index
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 citebot \
    && mkdir -p /data/docs /data/index /data/cache \
    && chown -R citebot:citebot /data
COPY --chown=citebot:citebot seeds /data/docs

USER 10001:10001
VOLUME ["/data/docs", "/data/index", "/data/cache"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s CMD ["citebot", "status"]
ENTRYPOINT ["citebot"]
CMD ["run"]
