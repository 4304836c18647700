#!/usr/bin/env bash
# Local infrastructure: PostgreSQL and Redis (the machine's own), and an Apache Kafka broker run from
# Maven Central jars. `infra.sh up` is idempotent; `infra.sh down` stops only the broker this checkout started.
source "$(dirname "$0")/lib.sh"

KAFKA_DIR="$ROOT/deploy/local/kafka"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA="$STATE/kafka-data"
KAFKA_PID="$STATE/kafka.pid"
KAFKA_LOG="$STATE/kafka.log"
KAFKA_MAIN="kafka.Kafka $STATE/server.properties"

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432; then return; fi
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  die "PostgreSQL does not answer on 127.0.0.1:5432"
}

ensure_redis() {
  if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; then return; fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ] && return; sleep 1; done
  die "Redis does not answer on 127.0.0.1:6379"
}

fetch_kafka() {
  fetch_maven_libs "$KAFKA_DIR/pom.xml" "$KAFKA_DIR/libs" "$KAFKA_DIR/libs/kafka_2.13-*.jar" || die "Kafka jars missing after the Maven fetch"
}

JAVA_ARGS=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.yaml" -cp "$KAFKA_DIR/libs/*")

start_kafka() {
  if pid_is "$(cat "$KAFKA_PID" 2>/dev/null || true)" "$KAFKA_MAIN"; then
    log "Kafka already running (pid $(cat "$KAFKA_PID"))"
  elif port_open "$KAFKA_PORT"; then
    log "port $KAFKA_PORT is already served by a process this checkout did not start; using it as the broker"
  else
    fetch_kafka
    sed -e "s#@PORT@#$KAFKA_PORT#; s#@CPORT@#$KAFKA_CONTROLLER_PORT#; s#@DATA@#$KAFKA_DATA#" \
      "$KAFKA_DIR/server.properties.in" >"$STATE/server.properties"
    if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
      local cluster_id
      cluster_id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
      log "formatting KRaft storage in $KAFKA_DATA"
      java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$STATE/server.properties" \
        --ignore-formatted >/dev/null
    fi
    log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
    nohup java "${JAVA_ARGS[@]}" $KAFKA_MAIN >"$KAFKA_LOG" 2>&1 </dev/null &
    echo $! >"$KAFKA_PID"
  fi
  (cd "$ROOT" && node dist/tools/kafka-topics.js --wait 90) || { tail -20 "$KAFKA_LOG" >&2 || true; die "Kafka did not become ready"; }
}

stop_kafka() {
  local pid
  pid="$(cat "$KAFKA_PID" 2>/dev/null || true)"
  if ! pid_is "$pid" "$KAFKA_MAIN"; then rm -f "$KAFKA_PID"; return; fi
  log "stopping Kafka (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do pid_is "$pid" "$KAFKA_MAIN" || { rm -f "$KAFKA_PID"; return; }; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$KAFKA_PID"
}

case "${1:-up}" in
  up)
    ensure_node_modules
    ensure_build
    ensure_postgres
    ensure_redis
    start_kafka
    (cd "$ROOT" && node dist/tools/db-migrate.js)
    ;;
  down) stop_kafka ;;
  *) die "usage: infra.sh up|down" ;;
esac
