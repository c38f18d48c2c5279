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
    PATH=/app/.venv/bin:$PATH

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin claimwatch \
    && mkdir -p /data /watchlists && chown claimwatch:claimwatch /data /watchlists

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY alerts ./alerts
COPY storage ./storage
# The same install step as the README's first command.
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -e .
COPY --chown=claimwatch:claimwatch watchlists /watchlists

USER claimwatch
VOLUME ["/watchlists", "/data"]
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["claimwatch", "health", "--max-age", "180"]
STOPSIGNAL SIGTERM
CMD ["claimwatch", "run"]
