# The one image every advocacy process runs from (web, worker, migrate); see compose.yaml and Procfile.
# Installed editable: the app finds templates/ and migrations/ next to its package.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY advocacy ./advocacy
COPY connectors ./connectors
COPY workers ./workers
COPY templates ./templates
COPY migrations ./migrations
COPY wsgi.py ./
RUN pip install -e . && useradd --create-home advocacy
USER advocacy
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "wsgi:app"]
