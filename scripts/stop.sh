#!/usr/bin/env bash
# npm stop: stops a stack started with npm start (in another terminal).
pid_file="$(cd "$(dirname "$0")/.." && pwd)/.ganglion/stack.pid"
if [ ! -f "$pid_file" ]; then echo "ganglion: no local stack is running"; exit 0; fi
pid="$(cat "$pid_file")"
if kill -TERM "$pid" 2>/dev/null; then
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || { echo "ganglion: stopped"; exit 0; }; sleep 0.1; done
  echo "ganglion: the stack (pid $pid) did not stop within 30 s" >&2; exit 1
fi
rm -f "$pid_file"; echo "ganglion: no local stack is running"
