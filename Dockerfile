# Self-hosting the dashboard: `docker build -t ovcf . && docker run -p 8501:8501 ovcf`.
# Slim Python, dependencies from requirements.txt, runs as a non-root user, health check on Streamlit's
# /_stcore/health endpoint. Settings (upload cap, no usage stats, no tracebacks) come from .streamlit/.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ovcf
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=ovcf:ovcf . .
USER ovcf

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["python", "-m", "streamlit", "run", "streamlit_app.py", "--server.port=8501", "--server.address=0.0.0.0"]
