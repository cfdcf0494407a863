# MAOO in one image: the CLI, the mock ops API and the embedded engine (no network needed to run).
#   docker build -t maoo:local .
#   docker run --rm maoo:local                         # python -m cli demo happy
#   docker compose -f localstack-compose.yml run --rm app python -m cli demo refinement
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MAOO_RUNTIME_DIR=/app/runtime

WORKDIR /app

# Dependencies first, read from pyproject.toml, so that a code change does not reinstall them.
COPY pyproject.toml requirements.txt README.md* ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/dependencies.txt \
    && pip install -r /tmp/dependencies.txt \
    && rm /tmp/dependencies.txt

COPY app.py ./
COPY chalicelib ./chalicelib
COPY embedded_engine ./embedded_engine
COPY localrun ./localrun
COPY cli ./cli
COPY deploy ./deploy
COPY mock_api ./mock_api
COPY eval ./eval
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && useradd --create-home --uid 10001 maoo \
    && mkdir -p /app/runtime \
    && chown maoo /app/runtime

USER maoo
CMD ["python", "-m", "cli", "demo", "happy"]
