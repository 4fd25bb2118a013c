#!/bin/sh
# Smoke test of the image: build it, write the demo data into a volume, run the daemon with
# deploy/driftwatch/config.toml (its store switched to SQLite in that volume, so no PostgreSQL is
# needed), wait until its HEALTHCHECK passes and /healthz answers on the host, check that it runs
# as a non-root user and that a monitor run succeeded, then stop it and remove what it made.
#
#   deploy/smoke.sh                       # docker
#   ENGINE=podman deploy/smoke.sh
#
# Settings (environment):
#   ENGINE       the container command, with global flags if needed ("podman --runtime runc")
#   BASE_IMAGE   the Dockerfile's base (default: its own, python:3.11-slim)
#   BUILD_FLAGS  extra build flags ("--isolation chroot" where nested containers cannot run)
#   RUN_FLAGS    extra run flags ("--ulimit nofile=1024:1024 --ulimit nproc=1000:1000" where the
#                runtime may not set the engine's default limits)
#   HOST_PORT    the host port the web app is published on (default 18080)
#
# Without a reachable registry, a base can be made from Debian's packages:
#   debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates bookworm rootfs
#   tar -C rootfs -c . | podman import - localhost/debian-python:bookworm
#   BASE_IMAGE=localhost/debian-python:bookworm ENGINE=podman deploy/smoke.sh
set -eu

ENGINE=${ENGINE:-docker}
BUILD_FLAGS=${BUILD_FLAGS:-}
RUN_FLAGS=${RUN_FLAGS:-}
HOST_PORT=${HOST_PORT:-18080}
IMAGE=driftwatch:smoke
NAME=driftwatch-smoke-$$
VOLUME=driftwatch-smoke-$$
ROOT=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'smoke: %s\n' "$*"; }
fail() { say "FAILED: $*"; $ENGINE logs "$NAME" 2>&1 | tail -n 30 || true; exit 1; }
cleanup() {
    $ENGINE rm -f -v "$NAME" >/dev/null 2>&1 || true  # -v: also the anonymous VOLUME of /etc/driftwatch
    $ENGINE volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# podman builds OCI images by default, and the OCI format has no HEALTHCHECK.
case $ENGINE in podman*) BUILD_FLAGS="--format docker $BUILD_FLAGS" ;; esac
# shellcheck disable=SC2086  # the flag variables are lists of words
set -- ${BASE_IMAGE:+--build-arg "BASE_IMAGE=$BASE_IMAGE"}

say "build $IMAGE with $ENGINE"
# shellcheck disable=SC2086
$ENGINE build $BUILD_FLAGS "$@" -t "$IMAGE" "$ROOT"

user=$($ENGINE image inspect --format '{{.Config.User}}' "$IMAGE")
case ${user%%:*} in ''|0|root) fail "the image runs as root (USER '$user')" ;; esac

say "demo data into volume $VOLUME"
$ENGINE volume create "$VOLUME" >/dev/null
# shellcheck disable=SC2086
$ENGINE run --rm $RUN_FLAGS -v "$VOLUME:/var/lib/driftwatch" "$IMAGE" \
    demo --dir /var/lib/driftwatch/demo --days 3 >/dev/null

say "run the daemon on 127.0.0.1:$HOST_PORT"
# Throw-away values: the config requires them; the store is overridden to SQLite in the volume.
# shellcheck disable=SC2086
$ENGINE run -d --name "$NAME" $RUN_FLAGS -p "127.0.0.1:$HOST_PORT:8080" \
    -v "$VOLUME:/var/lib/driftwatch" \
    -v "$ROOT/deploy/driftwatch/config.toml:/etc/driftwatch/config.toml:ro" \
    -e POSTGRES_PASSWORD=unused -e DRIFTWATCH_TOKEN=smoke-test-token-not-secret \
    -e DRIFTWATCH_STORE__URL=sqlite:////var/lib/driftwatch/driftwatch.db \
    "$IMAGE" >/dev/null

# The image's own HEALTHCHECK: docker runs it on its schedule (30 s); podman without systemd
# runs no timers, so ask it directly. Either way the command is the one in the Dockerfile.
healthy() {
    case $ENGINE in
        podman*) $ENGINE healthcheck run "$NAME" >/dev/null 2>&1 ;;
        *) [ "$($ENGINE inspect --format '{{.State.Health.Status}}' "$NAME")" = healthy ] ;;
    esac
}
waited=0
until healthy; do
    [ "$($ENGINE inspect --format '{{.State.Running}}' "$NAME")" = true ] || fail "the container exited"
    [ $waited -lt 120 ] || fail "not healthy after 120 s"
    sleep 2; waited=$((waited + 2))
done
say "healthy after ${waited}s"

curl -fsS -m 5 "http://127.0.0.1:$HOST_PORT/healthz" >/dev/null || fail "/healthz does not answer on the host"

uid=$($ENGINE exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the process runs as root"
say "runs as uid $uid"

# Monitors start up to daemon.spread (15 s) after their due time; the catch-up run comes first.
waited=0
until curl -fsS -m 5 "http://127.0.0.1:$HOST_PORT/metrics" | grep -q '^driftwatch_runs_total{.*status="succeeded"}'; do
    [ $waited -lt 90 ] || fail "no succeeded run in /metrics after 90 s"
    sleep 2; waited=$((waited + 2))
done
say "a monitor run succeeded"

$ENGINE stop -t 40 "$NAME" >/dev/null
code=$($ENGINE inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || fail "exit status $code after stop"
say "stopped cleanly; ok"
