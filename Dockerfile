FROM python:3.11-slim
# Static files live in the image, not under /data: compose mounts a volume there, which would keep
# an older image's files (and manifest) after an upgrade.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRIAGE_DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
EXPOSE 8000
# workers, threads and timeouts: triage_site/gunicorn.conf.py (GUNICORN_* variables change them)
CMD ["gunicorn", "-c", "triage_site/gunicorn.conf.py", "triage_site.wsgi:application"]
