#!/usr/bin/env bash
# Benchmarks: Go benchmarks of each area, then the monitoring load test (a real
# server process fed by didacto-loadgen) with the in-memory and the Redis
# store. Raw output goes to docs/bench/raw/; BENCHMARKS.md summarizes it.
#   scripts/bench.sh          everything
#   scripts/bench.sh go       Go benchmarks only
#   scripts/bench.sh load     the monitoring load test only
#   scripts/bench.sh agent    the agent process idle-monitoring under Xvfb for 60 s
#   scripts/bench.sh live     live sessions with headless Chromium (screen, voice, camera)
#   scripts/bench.sh flood    500 slow clients, 3,000 idle connections and 3,000 websockets from one
#                             address while a second address probes /healthz (didacto-floodgen)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
mkdir -p docs/bench/raw
out=docs/bench/raw/$(date -u +%Y-%m-%d).txt
export LANG=C.UTF-8
echo "# $(date -u) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"

if [ "$what" = all ] || [ "$what" = go ]; then
  go test -run '^$' -bench . -benchtime 2s ./server/api/ ./server/store/... ./server/signal/ ./server/payment/... \
    ./capture/ ./rtc/... ./input/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|goos|cpu)' | tee -a "$out"
  go test -run '^$' -bench ClassStart -benchtime 10x ./agent/app/ 2>&1 | grep -E '^(Benchmark|ok|FAIL)' | tee -a "$out"
  go test -run '^$' -bench LockHundred -benchtime 5x ./server/classroom/ 2>&1 | grep -E '^(Benchmark|ok|FAIL)' | tee -a "$out"
fi

if [ "$what" = all ] || [ "$what" = load ]; then
  tmp=$(mktemp -d)
  pids=()
  cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
  trap cleanup EXIT
  CGO_ENABLED=0 go build -o "$tmp/didacto-server" ./cmd/didacto-server
  go build -o "$tmp/didacto-loadgen" ./cmd/didacto-loadgen
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >/dev/null &
  pids+=($!)
  for store in memory redis; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    extra=()
    [ "$store" = redis ] && extra=(--redis-url "redis://127.0.0.1:$rport/0")
    "$tmp/didacto-server" --addr "127.0.0.1:$port" --data-dir "$tmp/data-$store" --log-level error "${extra[@]}" &
    spid=$!
    pids+=($spid)
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
    for n in ${AGENTS:-100 500 1000 2000}; do
      echo -n "monitor store=$store " | tee -a "$out"
      "$tmp/didacto-loadgen" --server "http://127.0.0.1:$port" --agents "$n" --consoles 2 --interval 2s \
        --duration "${DURATION:-20s}" --warmup 4s --server-pid "$spid" 2>/dev/null | tee -a "$out"
    done
    kill "$spid"; wait "$spid" 2>/dev/null || true
  done
  cleanup; trap - EXIT
fi
if [ "$what" = all ] || [ "$what" = agent ]; then
  tmp=$(mktemp -d)
  pids=()
  cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
  trap cleanup EXIT
  CGO_ENABLED=0 go build -o "$tmp/didacto-server" ./cmd/didacto-server
  go build -o "$tmp/didacto-agent" ./cmd/didacto-agent
  exec 3<> "$tmp/displayfd"
  Xvfb -displayfd 3 -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$tmp/displayfd" ] && break; sleep 0.1; done
  display=":$(head -n1 "$tmp/displayfd")"
  # A busy-looking desktop: an xterm full of text.
  DISPLAY=$display xterm -geometry 200x60+0+0 -e sh -c 'ls -lR /usr/share/doc | head -n 300; sleep 600' &
  pids+=($!)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$tmp/didacto-server" --addr "127.0.0.1:$port" --data-dir "$tmp/data" --demo --log-level error 2>/dev/null &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  # A professor's console watches the grid (SSE), so the server asks for
  # the watched pace (2 s, 320 px) rather than the idle one.
  api=http://127.0.0.1:$port/api/v1
  ppw=$(awk '$1=="professor"{print $3}' "$tmp/data/demo-logins.txt")
  tok=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"email\":\"professor@demo.didacto\",\"password\":\"$ppw\"}" "$api/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  lid=$(curl -sf -H "Authorization: Bearer $tok" "$api/lectures" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
  curl -sfN -H "Authorization: Bearer $tok" "$api/lectures/$lid/monitor/stream" >/dev/null &
  pids+=($!)
  pw=$(awk '$1=="student"{print $3}' "$tmp/data/demo-logins.txt")
  DISPLAY=$display DIDACTO_EMAIL=student@demo.didacto DIDACTO_PASSWORD="$pw" \
    "$tmp/didacto-agent" --headless --server "http://127.0.0.1:$port" --interval 2s --log-level warn &
  apid=$!
  pids+=($apid)
  sleep 10
  read -r t0 < <(awk '{print $14+$15}' "/proc/$apid/stat")
  sleep 60
  read -r t1 < <(awk '{print $14+$15}' "/proc/$apid/stat")
  rss=$(awk '/VmRSS/{print $2}' "/proc/$apid/status")
  hz=$(getconf CLK_TCK)
  cleanup; trap - EXIT
  echo "agent idle-monitoring 60s at 2s interval, watched (1920x1080 Xvfb, xterm text): cpu=$(python3 -c "print(round(100*($t1-$t0)/$hz/60,2))")% rss=$((rss/1024))MiB" | tee -a "$out"
fi
if [ "$what" = all ] || [ "$what" = live ]; then
  go test -run '^$' -bench 'ChromiumMediaSession' -benchtime 1x ./agent/live/ 2>&1 |
    grep -E '^(Benchmark|ok|FAIL|    media_bench)' | tee -a "$out"
  # The live view (issue 14): loopback sessions, shaped lab links, legibility.
  go test -run '^$' -bench 'Chromium(Session|Shaped)' -benchtime 1x -count 2 ./agent/live/ 2>&1 |
    grep -E '^(Benchmark|ok|FAIL)|per second|msg="live session start"' | tee -a "$out"
  go test -run '^$' -bench 'Legibility' -benchtime 1x ./rtc/ 2>&1 | grep -E '^(Benchmark|ok|FAIL)' | tee -a "$out"
fi
if [ "$what" = all ] || [ "$what" = flood ]; then
  tmp=$(mktemp -d)
  pids=()
  cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
  trap cleanup EXIT
  CGO_ENABLED=0 go build -o "$tmp/didacto-server" ./cmd/didacto-server
  go build -o "$tmp/didacto-floodgen" ./cmd/didacto-floodgen
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$tmp/didacto-server" --addr "127.0.0.1:$port" --data-dir "$tmp/data" --log-level error &
  spid=$!
  pids+=($spid)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  # The flood (from 127.0.0.1) and the probe (from 127.0.0.2) are separate
  # processes: thousands of flooding goroutines would slow a probe in theirs.
  "$tmp/didacto-floodgen" --server "http://127.0.0.1:$port" --no-probe --duration "${FLOOD:-45s}" \
    --server-pid "$spid" >"$tmp/flood.txt" 2>&1 &
  fpid=$!
  pids+=($fpid)
  sleep 15 # accounts made, the flood up, slow clients past their first read timeout
  echo -n "flood probe from a second address (load $(cut -d' ' -f1-3 /proc/loadavg)): " | tee -a "$out"
  "$tmp/didacto-floodgen" --server "http://127.0.0.1:$port" --slow 0 --idle 0 --sockets 0 \
    --duration "${PROBE:-20s}" | tee -a "$out"
  wait "$fpid" || true
  echo -n "flood itself: " | tee -a "$out"
  tee -a "$out" <"$tmp/flood.txt"
  cleanup; trap - EXIT
fi
echo "raw results appended to $out"
