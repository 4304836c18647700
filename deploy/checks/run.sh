#!/usr/bin/env bash
# Offline checks of everything that deploys the platform: the Helm chart (helm lint --strict and helm template
# through helm-java, then every object against the Kubernetes 1.27 schemas and the project's rules) for the
# chart defaults and both profiles, the Dockerfile and compose file (structural), the Prometheus rules (promtool
# check + unit tests), the Grafana dashboard's queries (promtool's parser) and a live /metrics (promtool lint),
# and whether every service of the chart's default and dev profiles and of the compose file would start with the
# environment it is given (its own compiled config definition) with AMS keys that fit the sandbox.
# Needs Java 17, Maven (Maven Central) and Debian's apt for the first run; later runs use the caches.
# Prints PASS/FAIL per check and exits non-zero when any check fails.
source "$(dirname "$0")/../local/lib.sh"
set +e

CHECKS="$ROOT/deploy/checks"
CHART="$ROOT/helm/upm-platform"
HELM_LIBS="$CHECKS/helm/libs"
CACHE="$CHECKS/.cache"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/upm-deploy-checks.XXXXXX")"
KUBE_API_PID=""
trap '[ -n "$KUBE_API_PID" ] && kill "$KUBE_API_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

passed=0
failed=0
failures=()

# check <name> <command...>: runs one check, indents its output, prints PASS or FAIL with the time it took
check() {
  local name="$1"; shift
  local started=$SECONDS status
  # not in a subshell: a check may set variables for later ones (PROMTOOL)
  "$@" >"$WORK/check.out" 2>&1; status=$?
  sed 's/^/    /' "$WORK/check.out"
  if [ $status -eq 0 ]; then
    passed=$((passed + 1)); printf '\033[32mPASS\033[0m %s (%ss)\n' "$name" $((SECONDS - started))
  else
    failed=$((failed + 1)); failures+=("$name"); printf '\033[31mFAIL\033[0m %s (%ss)\n' "$name" $((SECONDS - started))
  fi
}

# helm-java and its native Helm library from Maven Central, fetched again only when pom.xml changes
fetch_helm_java() {
  fetch_maven_libs "$CHECKS/helm/pom.xml" "$HELM_LIBS" "$HELM_LIBS/helm-java-*.jar" && ls "$HELM_LIBS"/helm-java-*.jar "$HELM_LIBS"/linux-amd64-*.jar
}

# promtool from Debian's prometheus package, unpacked into the cache rather than installed: installing the
# package would also set up (and on a systemd machine start) a Prometheus server, which the checks do not need
PROMTOOL=""
ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then PROMTOOL="$(command -v promtool)"; return 0; fi
  if [ -x "$CACHE/promtool" ]; then PROMTOOL="$CACHE/promtool"; return 0; fi
  mkdir -p "$CACHE" "$WORK/deb"
  (cd "$WORK/deb" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download prometheus; }; }) || {
    echo "cannot download Debian's prometheus package (it provides promtool)"; return 1; }
  dpkg-deb --fsys-tarfile "$WORK"/deb/prometheus_*.deb | tar -x -C "$WORK/deb" ./usr/bin/promtool || return 1
  mv "$WORK/deb/usr/bin/promtool" "$CACHE/promtool" && PROMTOOL="$CACHE/promtool"
  "$PROMTOOL" --version | head -1
}

# helm-java's template asks a cluster what the chart's `lookup` names (a real `helm template` answers nothing);
# a local read-only stand-in answers "not found" (a first install), or the Secrets put under $WORK/kube (an
# upgrade). No real cluster is reached.
start_kube_api() {
  mkdir -p "$WORK/kube"
  node "$CHECKS/helm/fake-kube-api.js" "$WORK/kube" >"$WORK/kube-api.port" 2>"$WORK/kube-api.log" &
  KUBE_API_PID=$!
  for _ in $(seq 1 50); do [ -s "$WORK/kube-api.port" ] && break; sleep 0.1; done
  [ -s "$WORK/kube-api.port" ] || { cat "$WORK/kube-api.log"; return 1; }
  local port; port="$(cat "$WORK/kube-api.port")"
  printf '%s\n' 'apiVersion: v1' 'kind: Config' \
    "clusters: [{name: checks, cluster: {server: \"http://127.0.0.1:$port\"}}]" \
    'users: [{name: checks, user: {}}]' \
    'contexts: [{name: checks, context: {cluster: checks, user: checks, namespace: upm}}]' \
    'current-context: checks' >"$WORK/kubeconfig"
  export KUBECONFIG="$WORK/kubeconfig"
  echo "stand-in Kubernetes API on 127.0.0.1:$port (read-only, for lookup)"
}

# an upgrade keeps the generated AMS keys: render the dev profile again with its keys Secret "installed"
helm_upgrade_keeps_keys() {
  node -e '
    const fs = require("fs"); const YAML = require("yaml");
    const secret = YAML.parseAllDocuments(fs.readFileSync(process.argv[1], "utf8")).map((d) => d.toJSON())
      .find((o) => o && o.kind === "Secret" && /-sandbox-keys$/.test(o.metadata.name));
    if (!secret) { console.error("the dev profile renders no sandbox-keys Secret"); process.exit(1); }
    fs.mkdirSync(process.argv[2] + "/upm", { recursive: true });
    fs.writeFileSync(process.argv[2] + "/upm/" + secret.metadata.name + ".json", JSON.stringify(secret));
  ' "$WORK/dev.yaml" "$WORK/kube" || return 1
  helm_render dev-upgrade "$CHART/values-dev.yaml" >/dev/null; local status=$?
  rm -rf "$WORK/kube/upm"
  [ $status -eq 0 ] || return 1
  node -e '
    const fs = require("fs"); const YAML = require("yaml");
    const keys = (f) => YAML.parseAllDocuments(fs.readFileSync(f, "utf8")).map((d) => d.toJSON())
      .find((o) => o && o.kind === "Secret" && /-sandbox-keys$/.test(o.metadata.name)).data;
    const [before, after] = [keys(process.argv[1]), keys(process.argv[2])];
    const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
    if (changed.length) { console.error("an upgrade would replace " + changed.join(", ")); process.exit(1); }
    console.log("upgrade keeps " + Object.keys(before).join(", "));
  ' "$WORK/dev.yaml" "$WORK/dev-upgrade.yaml"
}

# the sandbox beside secrets.existingSecret reads its keys from that Secret: with every key there the chart renders,
# and the sandbox and the connector start with keys that fit; with keys missing the install fails, naming them
GIVEN_VALUES="$CHECKS/values-existing-secret.yaml"
GIVEN_SECRET=upm-given-secrets
helm_existing_secret_keys_fit() {
  mkdir -p "$WORK/kube/upm"
  node "$CHECKS/helm/given-secret.js" upm "$GIVEN_SECRET" >"$WORK/kube/upm/$GIVEN_SECRET.json" || return 1
  helm_render existing-secret "$GIVEN_VALUES" &&
    node "$CHECKS/validate-k8s.js" --profile default --values "$GIVEN_VALUES" "$WORK/existing-secret.yaml" &&
    node "$CHECKS/validate-app-config.js" helm "$WORK/existing-secret.yaml" --secret "$WORK/kube/upm/$GIVEN_SECRET.json"
  local status=$?
  rm -rf "$WORK/kube/upm"
  return $status
}
helm_existing_secret_keys_missing() {
  mkdir -p "$WORK/kube/upm"
  node "$CHECKS/helm/given-secret.js" upm "$GIVEN_SECRET" SANDBOX_PRIVATE_KEY SANDBOX_MERCHANT_PUBLIC_KEY >"$WORK/kube/upm/$GIVEN_SECRET.json" || return 1
  helm_render existing-secret-missing "$GIVEN_VALUES" >"$WORK/existing-secret-missing.out" 2>&1; local status=$?
  rm -rf "$WORK/kube/upm"
  if [ $status -eq 0 ]; then echo "rendered although $GIVEN_SECRET has no SANDBOX_PRIVATE_KEY, SANDBOX_MERCHANT_PUBLIC_KEY"; return 1; fi
  grep -o "the sandbox (services.alipay-sandbox.enabled) reads its keys from secrets.existingSecret $GIVEN_SECRET, which has no SANDBOX_PRIVATE_KEY, SANDBOX_MERCHANT_PUBLIC_KEY[^\"]*" "$WORK/existing-secret-missing.out" ||
    { cat "$WORK/existing-secret-missing.out"; return 1; }
}

# the sandbox enabled beside a real AMS endpoint relaxes nothing: no published admin token, no optional credentials
helm_sandbox_beside_ams() {
  helm_render sandbox-beside-ams "$CHECKS/values-sandbox-beside-ams.yaml" >"$WORK/sandbox-beside-ams.out" 2>&1
  if [ $? -eq 0 ]; then echo "rendered with the sandbox beside a real AMS endpoint and no ADMIN_TOKEN"; return 1; fi
  grep -o "secrets.values.ADMIN_TOKEN is required unless the sandbox stands in for Alipay[^\"]*" "$WORK/sandbox-beside-ams.out" ||
    { cat "$WORK/sandbox-beside-ams.out"; return 1; }
}

helm_short_grace() {
  helm_render short-grace "$CHECKS/values-short-grace.yaml" >"$WORK/short-grace.out" 2>&1
  if [ $? -eq 0 ]; then echo "rendered a grace period that leaves no time to drain after the preStop sleep"; return 1; fi
  grep -o "terminationGracePeriodSeconds (10) must exceed preStopSleepSeconds (8) by at least 8 s[^\"]*" "$WORK/short-grace.out" ||
    { cat "$WORK/short-grace.out"; return 1; }
}

# helm lint --strict and helm template -f <values>, then the rendered objects against schemas and rules
helm_render() { # profile values-file
  node "$CHECKS/prepare-charts.js" "$CHART" "$2" "$WORK/$1" &&
    java -cp "$HELM_LIBS/*" "$CHECKS/helm/HelmCheck.java" "$WORK/$1/lint" "$WORK/$1/render" "$2" "$WORK/$1.yaml" &&
    echo "rendered $(grep -c '^kind:' "$WORK/$1.yaml") objects"
}

metrics_lint() {
  node "$CHECKS/validate-prometheus.js" scrape "$WORK/metrics.txt" || return 1
  "$PROMTOOL" check metrics <"$WORK/metrics.txt" >"$WORK/metrics-lint.txt" 2>&1
  # 0: clean, 3: lint findings (judged below); anything else is a parse error of the exposition format
  case $? in 0|3) ;; *) cat "$WORK/metrics-lint.txt"; return 1 ;; esac
  node "$CHECKS/validate-prometheus.js" metrics-lint "$WORK/metrics-lint.txt"
}

cd "$ROOT"
ensure_node_modules
# the live /metrics check starts a compiled service
check "build: dist/ up to date (node tools/build.js)" ensure_build

check "helm: fetch helm-java (Maven Central, cached)" fetch_helm_java
check "helm: stand-in Kubernetes API for lookup (local, read-only)" start_kube_api
# the chart's defaults, both profiles, and the optional objects that no profile turns on
for profile in default dev production optional-features; do
  case $profile in
    default) values="$CHART/values.yaml"; rules=default ;;
    optional-features) values="$CHECKS/values-optional-features.yaml"; rules=default ;;
    *) values="$CHART/values-$profile.yaml"; rules=$profile ;;
  esac
  check "helm: lint --strict + template ($profile)" helm_render "$profile" "$values"
  if [ -s "$WORK/$profile.yaml" ]; then
    check "k8s: schemas (kubernetes-models 1.27) + project rules ($profile)" \
      node "$CHECKS/validate-k8s.js" --profile "$rules" --values "$values" "$WORK/$profile.yaml"
  fi
  # the profiles whose Secret the chart renders: each service's environment through its own config definition
  if [ -s "$WORK/$profile.yaml" ] && { [ $profile = default ] || [ $profile = dev ]; }; then
    check "helm: every service's config loads, AMS keys fit the sandbox ($profile)" \
      node "$CHECKS/validate-app-config.js" helm "$WORK/$profile.yaml"
  fi
done
if [ -s "$WORK/dev.yaml" ]; then
  check "helm: an upgrade keeps the generated AMS keys (lookup)" helm_upgrade_keeps_keys
fi
check "helm: the sandbox with secrets.existingSecret reads its keys from it, and they fit (lookup)" helm_existing_secret_keys_fit
check "helm: the sandbox with secrets.existingSecret: an install fails naming the keys it lacks (lookup)" helm_existing_secret_keys_missing
check "helm: the sandbox beside a real AMS endpoint: no development token, the render fails" helm_sandbox_beside_ams
check "helm: a grace period that leaves no time to drain after the preStop sleep: the render fails" helm_short_grace
check "helm: fee values of settlement and the sandbox: the chart refuses exactly what each refuses at start-up" \
  node "$CHECKS/settlement-fees.js" "$HELM_LIBS" "$WORK"

check "docker: Dockerfile + .dockerignore (structural; no linter available)" node "$CHECKS/validate-docker.js" dockerfile
check "docker: compose.yaml (parsed + structural)" node "$CHECKS/validate-docker.js" compose
check "docker: compose: every service's config loads, AMS keys fit the sandbox" node "$CHECKS/validate-app-config.js" compose

check "prometheus: fetch promtool (Debian package, cached)" ensure_promtool
if [ -n "$PROMTOOL" ]; then
  check "prometheus: promtool check rules alerts.yaml" "$PROMTOOL" check rules deploy/prometheus/alerts.yaml
  check "prometheus: promtool test rules (alert unit tests)" "$PROMTOOL" test rules "$CHECKS/prometheus/alerts.test.yaml"
  check "prometheus: alert labels, runbooks, metric names" node "$CHECKS/validate-prometheus.js" rules
  check "runbooks: alerts, metrics, label values, pod commands exist" node "$CHECKS/validate-prometheus.js" runbooks
  check "grafana: dashboard structure + metric names" node "$CHECKS/validate-prometheus.js" dashboard "$WORK/dashboard-queries.yaml"
  if [ -s "$WORK/dashboard-queries.yaml" ]; then
    check "grafana: every dashboard query parses (promtool)" "$PROMTOOL" check rules "$WORK/dashboard-queries.yaml"
  fi
  check "prometheus: promtool check metrics on a live /metrics" metrics_lint
fi

if [ $failed -gt 0 ]; then
  printf '\033[31mfailed:\033[0m %s\n' "${failures[@]}"
fi
echo "deploy-checks: $passed passed, $failed failed"
[ $failed -eq 0 ]
