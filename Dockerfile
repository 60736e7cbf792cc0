# Production image: the API under uvicorn, as a non-root user; migrations run on start.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CAS_ENVIRONMENT=production CAS_DATA_DIR=/var/lib/cas
RUN useradd --system --create-home --uid 10001 cas \
    && mkdir -p /var/lib/cas && chown cas:cas /var/lib/cas
WORKDIR /srv/cas
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
COPY alembic.ini ./
COPY migrations ./migrations
USER cas
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready').status == 200 else 1)"
# CAS_DATABASE_URL (or DATABASE_URL), CAS_SECRET_KEY and CAS_FIELD_ENCRYPTION_KEY are required.
# Behind a reverse proxy set CAS_TRUSTED_PROXIES (uvicorn's own proxy-header handling stays off).
# Background jobs run inside each server; to run them apart, set CAS_RUN_JOBS_IN_SERVER=false
# here and start containers of this image with the command `cas worker` (any number).
CMD ["sh", "-c", "cas db upgrade && exec uvicorn app.asgi:app --host 0.0.0.0 --port 8000 --no-proxy-headers --no-access-log"]
