#!/usr/bin/env bash
# The soak suite (`pnpm test:soak`): raise the open-file limit to the hard
# limit, then soak.mjs with its defaults (10,000 connections on epoll, poll and uring,
# and Node `net` for comparison). The select backend is not soaked: select(2)
# cannot watch an fd at or above FD_SETSIZE (1024), so 10,000 connections are
# beyond it by construction. Arguments are passed on to soak.mjs.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(uname -s)" != "Linux" ]; then
  echo "soak: Linux only (it reads /proc/self/fd and soaks the epoll backend)" >&2
  exit 1
fi
ulimit -n "$(ulimit -Hn)"
exec node soak.mjs "$@"
