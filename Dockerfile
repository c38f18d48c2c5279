# claimwatch: the daemon in a slim image, run as an unprivileged user.
# Watchlists and data are volumes: ops edit /watchlists, the SQLite database lives in /data
# (or point CLAIMWATCH_DB at PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLAIMWATCH_WATCHLISTS=/watchlists \
    CLAIMWATCH_DB=sqlite+aiosqlite:////data/claimwatch.db \
    CLAIMWATCH_HEARTBEAT=/data/heartbeat \
    CLAIMWATCH_HTTP=0.0.0.0:8080 \
    PATH=/app/.venv/bin:$PATH

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin claimwatch \
    && mkdir -p /data /watchlists && chown claimwatch:claimwatch /data /watchlists

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY matcher ./matcher
COPY alerts ./alerts
COPY storage ./storage
COPY web ./web
# The same install step as the README's first command.
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -e .
COPY --chown=claimwatch:claimwatch watchlists /watchlists

USER claimwatch
VOLUME ["/watchlists", "/data"]
# The desk page, API, /metrics, /healthz and /readyz. Off loopback the API and desk page need
# CLAIMWATCH_API_TOKEN (web/auth.py); /metrics and the health checks answer without it.
EXPOSE 8080
# The heartbeat is written by the dispatcher itself, so a stuck poll loop fails it even while the
# web server still answers (/healthz checks the event loop, /readyz the database: for probes).
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["claimwatch", "health", "--max-age", "180"]
STOPSIGNAL SIGTERM
CMD ["claimwatch", "run"]
