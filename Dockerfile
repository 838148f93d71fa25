# Production image for the web, worker and beat services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY eportal ./eportal
COPY clinics ./clinics
COPY identification ./identification
COPY booking ./booking
COPY econsult ./econsult
COPY delegation ./delegation
COPY sms ./sms
RUN pip install -c constraints.txt .
COPY . .

# Build-time only values: the real ones come from the environment at run time.
RUN SECRET_KEY=build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(64))') \
    python manage.py collectstatic --noinput -v0 \
    && DEBUG=1 python manage.py compilemessages -v0 --ignore='*/site-packages/*'

RUN useradd --system --uid 10001 eportal && mkdir -p /app/var/econsult && chown -R eportal /app/var
USER eportal
EXPOSE 8000
CMD ["gunicorn", "eportal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
