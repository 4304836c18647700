# Shared helpers for the local scripts (sourced, never run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="$ROOT/deploy/local/.state"
mkdir -p "$STATE"
export KAFKAJS_NO_PARTITIONER_WARNING=1 NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

log() { printf '\033[1m[upm]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[upm] %s\033[0m\n' "$*" >&2; exit 1; }

# Installs node_modules when they are missing or older than the lock file.
ensure_node_modules() {
  if [ ! -d "$ROOT/node_modules/.bin" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm packages"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Compiles apps, libs and tools into dist/ when any source is newer than the last build.
ensure_build() { (cd "$ROOT" && node tools/build.js --if-stale); }

# Is a process with this pid alive and is its command line the one we started?
pid_is() { local pid="$1" pattern="$2"; [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$pattern"; }

# Copies a pom.xml's runtime dependencies from Maven Central into a folder, again only when the pom.xml changed or
# a fetch did not finish (its stamp is written last). Args: pom.xml, folder, a glob that must match once done.
fetch_maven_libs() {
  local pom="$1" dir="$2" marker="$3" stamp="$2/.pom.sha256" want
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  # shellcheck disable=SC2086 # the marker is a glob
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && ls $marker >/dev/null 2>&1; then return 0; fi
  rm -rf "$dir"
  mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir" || return 1
  # shellcheck disable=SC2086
  ls $marker >/dev/null || return 1
  echo "$want" >"$stamp"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The six services, their ports (CONTRACTS.md §4) and their start order.
APPS=(alipay-sandbox payment-orchestrator alipay-connector settlement notification terminal-gateway)
app_port() {
  case "$1" in
    terminal-gateway) echo 3000 ;; payment-orchestrator) echo 3001 ;; alipay-connector) echo 3002 ;;
    settlement) echo 3003 ;; notification) echo 3004 ;; alipay-sandbox) echo 3010 ;;
  esac
}
app_pid_file() { echo "$STATE/pids/$1.pid"; }
app_running() { pid_is "$(cat "$(app_pid_file "$1")" 2>/dev/null || true)" "dist/apps/$1/src/main.js"; }
