#!/usr/bin/env bash
# Serve the demo: the background-job worker beside the web server, both stopped together.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
uv_bin=$(command -v uv || echo "$HOME/.local/bin/uv")
"$uv_bin" run --frozen shouwang run-worker &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo "守望 Shouwang: http://$host:$port/  (Ctrl-C 退出 / to stop)"
"$uv_bin" run --frozen shouwang runserver "$host:$port" --noreload
