# driftwatch daemon image: `driftwatch run` with the web app on port 8080.
#
#   docker build -t driftwatch .
#   docker run -v ./config.toml:/etc/driftwatch/config.toml:ro -v dw-data:/var/lib/driftwatch -p 8080:8080 driftwatch
#
# BASE_IMAGE may be any Debian-like image with python3 (>= 3.11) and its venv module, e.g. one
# made with debootstrap where no registry is reachable (deploy/smoke.sh shows how).
ARG BASE_IMAGE=python:3.11-slim

# Build stage: pip builds driftwatch's wheel and installs it with its dependencies into a venv,
# so the runtime stage gets one directory and none of pip's caches or build files.
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# python3, not python: Debian's own python3 package has no `python` command.
RUN python3 -m venv /opt/venv
WORKDIR /src
# config.example.toml: driftwatch/demo/config.example.toml is a symlink to it.
COPY pyproject.toml README.md config.example.toml ./
COPY driftwatch ./driftwatch
RUN /opt/venv/bin/pip install . && /opt/venv/bin/driftwatch --version

# Runtime stage: the same base (the venv's python links to the base's interpreter), the venv, and
# an unprivileged user with a fixed uid, so volume ownership can be set on the host and
# Kubernetes' runAsNonRoot can check it.
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --gid 10001 driftwatch \
    && useradd --uid 10001 --gid 10001 --home-dir /var/lib/driftwatch --no-create-home \
       --shell /usr/sbin/nologin driftwatch \
    && mkdir -p /etc/driftwatch /var/lib/driftwatch \
    && chown driftwatch:driftwatch /var/lib/driftwatch
COPY --from=build /opt/venv /opt/venv
WORKDIR /var/lib/driftwatch
USER 10001:10001
# /etc/driftwatch: config.toml (mount it read-only). /var/lib/driftwatch: a SQLite store and data
# files if the config uses them (an absolute path: relative ones resolve against the config's folder).
VOLUME ["/etc/driftwatch", "/var/lib/driftwatch"]
EXPOSE 8080
# /healthz answers 200 while the process serves. The slim base has no curl, so python's urllib
# asks; an exception (refused, timeout, non-2xx) exits 1, which Docker counts as unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["driftwatch"]
# --host 0.0.0.0: reachable through the published port (web.host defaults to loopback);
# --port 8080 fixed so EXPOSE and HEALTHCHECK hold whatever the config says.
CMD ["run", "--config", "/etc/driftwatch/config.toml", "--host", "0.0.0.0", "--port", "8080"]
