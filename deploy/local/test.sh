#!/usr/bin/env bash
# `npm test`: installs what is missing, starts the local infrastructure, then runs lint, type checking and
# the unit, integration and end-to-end tiers against the real PostgreSQL, Redis and Kafka. Ends with
# `N passed, N failed` (tests of every tier plus the lint and type checks) and exits non-zero on any failure.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_node_modules
ensure_build
bash "$ROOT/deploy/local/infra.sh" up
node "$ROOT/dist/tools/test-topics.js"

RESULTS="$STATE/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
checks_passed=0
checks_failed=0

check() { # name command...
  local name="$1"; shift
  log "$name"
  if "$@"; then checks_passed=$((checks_passed + 1)); else checks_failed=$((checks_failed + 1)); log "$name FAILED"; fi
}

tier() { # jest project, extra args...
  local project="$1"; shift
  log "tests: $project"
  npx jest --selectProjects "$project" --ci --passWithNoTests --json --outputFile="$RESULTS/$project.json" "$@" || true
  [ -s "$RESULTS/$project.json" ] || echo '{"numPassedTests":0,"numFailedTests":0,"numRuntimeErrorTestSuites":1}' >"$RESULTS/$project.json"
}

check lint npm run --silent lint
check typecheck npm run --silent typecheck
check deploy-checks bash "$ROOT/deploy/checks/run.sh"
tier unit
tier integration --runInBand
tier e2e --runInBand

node - "$RESULTS" "$checks_passed" "$checks_failed" <<'JS'
const fs = require('fs');
const [dir, checksPassed, checksFailed] = process.argv.slice(2);
let passed = Number(checksPassed), failed = Number(checksFailed);
for (const file of fs.readdirSync(dir)) {
  const r = JSON.parse(fs.readFileSync(`${dir}/${file}`, 'utf8'));
  passed += r.numPassedTests;
  // a suite that failed to run at all counts as a failure even though none of its tests ran
  failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
  console.log(`${file.replace('.json', '')}: ${r.numPassedTests} passed, ${r.numFailedTests} failed${r.numRuntimeErrorTestSuites ? `, ${r.numRuntimeErrorTestSuites} suites did not run` : ''}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
JS
