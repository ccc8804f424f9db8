# wgbot: build llama-cpp-python and bake the model files with the same set-up script as a developer machine,
# then run `wgbot run` as a non-root user from a slim image.

FROM python:3.11-slim-bookworm AS build
ENV WGBOT_PYTHON=python3.11 \
    WGBOT_TORCH_INDEX=https://download.pytorch.org/whl/cpu \
    WGBOT_MODEL_DIR=/app/models \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git patch \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY scripts ./scripts
COPY bot ./bot
COPY tracker ./tracker
COPY transcripts ./transcripts
RUN bash scripts/setup.sh

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libopus0 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 wgbot
ENV PATH=/app/.venv/bin:$PATH \
    WGBOT_MODEL_DIR=/app/models \
    WGBOT_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown wgbot:wgbot /data
USER wgbot
VOLUME ["/data"]
EXPOSE 8080
ENV WGBOT_CALENDAR_HOST=0.0.0.0
CMD ["wgbot", "run"]
