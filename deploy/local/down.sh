#!/usr/bin/env bash
# `npm run down`: stops the services and the Kafka broker that `npm run up` started, and nothing else.
source "$(dirname "$0")/lib.sh"

for app in "${APPS[@]}"; do
  pid_file="$(app_pid_file "$app")"
  if app_running "$app"; then
    pid="$(cat "$pid_file")"
    log "stopping $app (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 40); do app_running "$app" || break; sleep 0.25; done
    app_running "$app" && kill -KILL "$pid"
  fi
  rm -f "$pid_file"
done
bash "$ROOT/deploy/local/infra.sh" down
