#!/usr/bin/env bash
# `npm run up`: installs what is missing, starts PostgreSQL/Redis checks, Kafka, migrations, the six
# services and the sandbox, waits until all are ready, runs a short demo and prints the URLs.
# Safe to run again: what already runs is left as it is.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bash "$ROOT/deploy/local/infra.sh" up
mkdir -p "$STATE/pids" "$STATE/logs"
source "$ROOT/deploy/local/dev-env.sh"

for app in "${APPS[@]}"; do
  if app_running "$app"; then log "$app already running"; continue; fi
  port="$(app_port "$app")"
  port_open "$port" && die "port $port is taken by another process; stop it or run \`npm run down\`"
  log "starting $app on :$port"
  PORT="$port" nohup node "dist/apps/$app/src/main.js" >>"$STATE/logs/$app.log" 2>&1 </dev/null &
  echo $! >"$(app_pid_file "$app")"
done

for app in "${APPS[@]}"; do
  port="$(app_port "$app")"
  for i in $(seq 1 60); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = "200" ] && break
    app_running "$app" || { tail -5 "$STATE/logs/$app.log" >&2; die "$app exited; its log is $STATE/logs/$app.log"; }
    [ "$i" = 60 ] && die "$app is not ready after 30 s; see $STATE/logs/$app.log"
    sleep 0.5
  done
done

if [ -f "$ROOT/deploy/local/demo.sh" ]; then bash "$ROOT/deploy/local/demo.sh"; fi

cat <<TXT

UPM Platform is up.
  POS API (terminal-gateway)  http://127.0.0.1:3000      docs: http://127.0.0.1:3000/docs
  payment-orchestrator        http://127.0.0.1:3001/health/ready
  alipay-connector            http://127.0.0.1:3002/health/ready
  finance API (settlement)    http://127.0.0.1:3003      docs: http://127.0.0.1:3003/docs
  notification                http://127.0.0.1:3004/health/ready
  alipay-sandbox              http://127.0.0.1:3010/sandbox/alipay-public-key
  Kafka 127.0.0.1:9092 · PostgreSQL 127.0.0.1:5432 · Redis 127.0.0.1:6379
  logs: deploy/local/.state/logs/   stop: npm run down
TXT
