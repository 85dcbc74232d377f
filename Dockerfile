# feedwash image: one image for every role (migrate, worker, beat, web); docker-compose.yml picks
# the role with `command:`. Build: docker build -t feedwash .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The package is installed into site-packages (not editable), so the settings' defaults that are
# relative to the source checkout (config/) or to the working directory (seeds/, data/) are pinned
# here to the paths this image really has.
ENV FEEDWASH_RULES_DIR=/app/config/rules \
    FEEDWASH_SOURCES_FILE=/app/config/sources.yaml \
    FEEDWASH_SEEDS_DIR=/app/seeds \
    FEEDWASH_DATA_DIR=/data

RUN groupadd --system --gid 10001 feedwash \
    && useradd --system --uid 10001 --gid feedwash --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin feedwash \
    && mkdir -p /app /data \
    && chown feedwash:feedwash /data

# Dependencies all ship manylinux wheels for CPython 3.11: no compiler needed. The sources are
# built outside /app and removed in the same layer, so `python -m celery` (which puts the working
# directory first on sys.path) imports the installed package, not a stray copy.
COPY pyproject.toml README.md /tmp/src/
COPY worker /tmp/src/worker
RUN pip install /tmp/src && rm -rf /tmp/src

WORKDIR /app
COPY config ./config
COPY seeds ./seeds

USER feedwash:feedwash
EXPOSE 8000

# No curl in slim: ask /healthz with the standard library (proxies bypassed, 4 s cap).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8000/healthz', timeout=4).read()"]

CMD ["feedwash", "serve", "--host", "0.0.0.0", "--port", "8000"]
