# wgbot's production image. The build stage runs the same set-up script as a developer machine, in its production
# profile: the runtime packages only (no test tools, no torch) and llama.cpp built for any x86-64 CPU — every CPU
# variant of ggml's backend is built and the best one for the host (AVX2, AVX-512, AMX) is loaded at run time, so an
# image built on one machine runs on another.

FROM python:3.11-slim-bookworm AS build
ENV WGBOT_PYTHON=python3.11 \
    WGBOT_SETUP_PROFILE=production \
    WGBOT_VENV=/app/.venv \
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
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/models /app/models
RUN mkdir -p /data && chown 10001:10001 /data && chmod 0700 /data
USER 10001:10001
VOLUME ["/data"]
# Inside the container the web server listens on every interface; compose.yaml publishes it on the host's loopback.
ENV WGBOT_CALENDAR_HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 CMD ["wgbot", "health"]
CMD ["wgbot", "run"]
