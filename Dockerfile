# One image for the API, the worker, migrations and the Stripe stand-in (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Tesseract reads scanned certificates of insurance (integrations/certificate_reader).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tesseract-ocr \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY api ./api
COPY activities ./activities
COPY common ./common
COPY contracts ./contracts
COPY db ./db
COPY devstack ./devstack
COPY documents ./documents
COPY domain ./domain
COPY integrations ./integrations
COPY notifications ./notifications
COPY observability ./observability
COPY outbox ./outbox
COPY services ./services
COPY workflows ./workflows
COPY data ./data
COPY alembic.ini manage.py worker.py ./
RUN pip install . && useradd --create-home --uid 10001 gigcover
USER gigcover
EXPOSE 8000
CMD ["python", "-m", "api.serve", "--host", "0.0.0.0", "--port", "8000"]
