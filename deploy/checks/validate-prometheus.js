#!/usr/bin/env node
// Usage:
//   node validate-prometheus.js rules                          structure of deploy/prometheus/alerts.yaml
//   node validate-prometheus.js dashboard <exprs-as-rules.yaml> structure of the Grafana dashboard; writes its
//                                                              queries as a rule file so promtool parses them
//   node validate-prometheus.js scrape <metrics.txt>           starts alipay-sandbox from dist/, saves /metrics
//   node validate-prometheus.js metrics-lint <promtool-output>  judges `promtool check metrics` findings
//   node validate-prometheus.js runbooks                       alerts, metrics, label values and commands the
//                                                              runbooks name exist as they say
//
// promtool (run by run.sh) is the real parser and linter; this adds what it cannot know: every alert carries a
// severity and a runbook that exists, and every metric a query names is one the code exports (or one the
// design has announced, reported until the code exports it).
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '../..');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yaml');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/upm-platform.json');

/** Announced by the design (payment, AMS, webhook and lag metrics) before the code that exports them lands. */
const ANNOUNCED = [
  'upm_payments_final_total',
  'upm_payments_needs_review_total',
  'upm_saga_step_seconds',
  'upm_alipay_requests_total',
  'upm_alipay_request_seconds',
  'upm_webhook_deliveries_total',
  'kafka_consumer_lag_messages',
];
/** Series that Prometheus itself and kube-state-metrics provide. */
const EXTERNAL = ['up', 'kube_deployment_status_replicas_available', 'kube_deployment_spec_replicas'];
/** What the dashboard and the alerts must at least cover (the operator's questions). */
const DASHBOARD_MUST_USE = [
  'upm_payments_final_total', 'upm_payments_needs_review_total', 'upm_saga_step_seconds_bucket', 'upm_alipay_requests_total',
  'upm_alipay_request_seconds_bucket', 'outbox_backlog_messages', 'outbox_oldest_age_seconds', 'kafka_consumer_lag_messages',
  'kafka_messages_failed_total', 'upm_webhook_deliveries_total', 'http_requests_total', 'http_request_duration_seconds_bucket',
];
const ALERTS_MUST_USE = [
  'upm_payments_needs_review_total', 'upm_alipay_requests_total', 'upm_alipay_request_seconds_bucket', 'outbox_oldest_age_seconds',
  'kafka_consumer_lag_messages', 'kafka_messages_failed_total', 'up', 'kube_deployment_status_replicas_available', 'upm_webhook_deliveries_total',
];
/** prom-client's default process metrics: promtool's naming advice about them is not ours to follow. */
const THIRD_PARTY_METRIC = /^(nodejs_|process_)/;

const problems = [];
const notes = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

function* walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (/\.ts$/.test(entry.name) && !/\.(spec|int-spec|e2e-spec)\.ts$/.test(entry.name)) yield full;
  }
}

/** Metric names the code registers: Metrics.counter/gauge/histogram('name', …) or prom-client's { name: '…' }. */
function exportedMetrics() {
  const names = new Map();
  for (const dir of ['apps', 'libs']) {
    for (const file of walk(path.join(ROOT, dir))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\.(counter|gauge|histogram|summary)\(\s*['"`]([a-zA-Z_:][a-zA-Z0-9_:]*)['"`]/g)) names.set(m[2], m[1]);
      for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*['"`]([a-zA-Z_:][a-zA-Z0-9_:]*)['"`]/g)) names.set(m[2], m[1].toLowerCase());
    }
  }
  return names;
}

const FUNCTIONS_AND_KEYWORDS = new Set(
  ('sum min max avg group stddev stdvar count count_values bottomk topk quantile by without on ignoring group_left group_right ' +
    'and or unless offset bool abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week days_in_month ' +
    'delta deriv exp floor histogram_quantile holt_winters hour idelta increase irate label_join label_replace ln log2 log10 minute month ' +
    'predict_linear rate resets round scalar sgn sort sort_desc sqrt time timestamp vector year avg_over_time min_over_time max_over_time ' +
    'sum_over_time count_over_time quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time inf nan').split(' '),
);

/** Metric names in a PromQL expression: what is left after strings, label matchers, durations and groupings go. */
function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set();
  for (const m of stripped.matchAll(/(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    if (!FUNCTIONS_AND_KEYWORDS.has(m[1].toLowerCase()) && !/^\d/.test(m[1])) names.add(m[1]);
  }
  return names;
}

function checkMetricNames(where, exprs, exported) {
  const known = new Set(EXTERNAL);
  for (const [name, type] of [...exported, ...ANNOUNCED.map((n) => [n, n.endsWith('_seconds') ? 'histogram' : 'counter'])]) {
    known.add(name);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) known.add(name + suffix);
  }
  const used = new Set();
  for (const [at, expr] of exprs) {
    for (const name of metricNames(expr)) {
      used.add(name);
      if (!known.has(name)) fail(`${where} ${at}`, `metric ${name} is neither exported by apps/ or libs/ nor announced`);
    }
  }
  const base = (name) => name.replace(/_(bucket|sum|count)$/, '');
  const pending = [...used].filter((n) => ANNOUNCED.includes(base(n)) && !exported.has(base(n)));
  if (pending.length) notes.push(`${where}: announced, not yet exported by the code: ${[...new Set(pending.map(base))].join(', ')}`);
  return used;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown) {
  return new Set(
    [...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      m[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'),
    ),
  );
}

function checkRunbook(where, url) {
  if (!url) return fail(where, 'annotation runbook_url missing');
  const [file, anchor] = url.split('#');
  if (!/^docs\/runbooks\/[a-z0-9-]+\.md$/.test(file)) return fail(where, `runbook_url ${url} must point at docs/runbooks/*.md`);
  const full = path.join(ROOT, file);
  if (!fs.existsSync(full)) return fail(where, `runbook ${file} does not exist`);
  if (anchor && !anchors(fs.readFileSync(full, 'utf8')).has(anchor)) fail(where, `runbook ${file} has no section #${anchor}`);
}

function rules() {
  const where = 'deploy/prometheus/alerts.yaml';
  const doc = YAML.parseDocument(fs.readFileSync(ALERTS, 'utf8'));
  for (const error of doc.errors) fail(where, `YAML: ${error.message}`);
  const groups = doc.toJSON()?.groups ?? [];
  if (!groups.length) fail(where, 'no rule groups');
  const seen = new Set();
  const exprs = [];
  for (const group of groups) {
    for (const rule of group.rules ?? []) {
      if (!rule.alert) continue;
      const at = `alert ${rule.alert}`;
      if (seen.has(rule.alert)) fail(where, `${at} defined twice`);
      seen.add(rule.alert);
      if (!/^Upm[A-Z]\w+$/.test(rule.alert)) fail(where, `${at}: name alerts Upm<Something>, so routes and silences can match them`);
      if (!['critical', 'warning'].includes(rule.labels?.severity)) fail(where, `${at}: labels.severity must be critical or warning`);
      for (const key of ['summary', 'description']) if (!rule.annotations?.[key]) fail(where, `${at}: annotation ${key} missing`);
      checkRunbook(`${where} ${at}`, rule.annotations?.runbook_url);
      exprs.push([at, String(rule.expr ?? '')]);
    }
  }
  const used = checkMetricNames(where, exprs, exportedMetrics());
  for (const name of ALERTS_MUST_USE) if (!used.has(name)) fail(where, `no alert watches ${name}`);
  return `${seen.size} alerts`;
}

function dashboard(outRules) {
  const where = 'deploy/grafana/upm-platform.json';
  let board;
  try {
    board = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  } catch (error) {
    fail(where, `not JSON: ${error.message}`);
    return '';
  }
  for (const key of ['uid', 'title', 'schemaVersion', 'panels']) if (board[key] === undefined) fail(where, `${key} missing`);
  const variables = new Map((board.templating?.list ?? []).map((v) => [v.name, v]));
  if (variables.get('datasource')?.type !== 'datasource' || variables.get('datasource')?.query !== 'prometheus') {
    fail(where, 'needs a `datasource` variable of type prometheus, so the dashboard imports into any Grafana');
  }
  const panels = (board.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  const ids = new Set();
  const cells = new Map();
  const exprs = [];
  for (const panel of panels) {
    const at = `panel ${panel.id} "${panel.title}"`;
    if (ids.has(panel.id)) fail(where, `${at}: duplicate id`);
    ids.add(panel.id);
    const g = panel.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger) || g.x + g.w > 24) fail(where, `${at}: gridPos must fit the 24-column grid`);
    else {
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = cells.get(`${x},${y}`);
          if (other !== undefined) return fail(where, `${at} overlaps panel ${other}`), '';
          cells.set(`${x},${y}`, panel.id);
        }
      }
    }
    if (panel.type === 'row') continue;
    if (!panel.targets?.length) fail(where, `${at}: no queries`);
    if (panel.datasource?.uid !== '${datasource}') fail(where, `${at}: datasource must be the \${datasource} variable`);
    for (const target of panel.targets ?? []) {
      if (!target.expr) fail(where, `${at} ${target.refId}: empty query`);
      for (const variable of String(target.expr).matchAll(/\$(\w+)|\$\{(\w+)/g)) {
        const name = variable[1] ?? variable[2];
        if (!name.startsWith('__') && !variables.has(name)) fail(where, `${at}: uses $${name}, which is not a dashboard variable`);
      }
      exprs.push([`${at} ${target.refId}`, String(target.expr)]);
    }
  }
  const used = checkMetricNames(where, exprs, exportedMetrics());
  for (const name of DASHBOARD_MUST_USE) if (!used.has(name)) fail(where, `no panel shows ${name}`);

  // Grafana's variables replaced by values Prometheus accepts, so that promtool parses every query
  const concrete = (expr) =>
    expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?__\w+\}?/g, '5m').replace(/\$\{?\w+\}?/g, '.*');
  const rulesFile = {
    groups: [{ name: 'dashboard-queries', rules: exprs.map(([, expr], i) => ({ record: `dashboard:query_${i}`, expr: concrete(expr) })) }],
  };
  fs.writeFileSync(outRules, YAML.stringify(rulesFile));
  return `${panels.length} panels, ${exprs.length} queries`;
}

/** Starts the sandbox (it needs neither Kafka nor a database), calls it once, and keeps what /metrics serves. */
async function scrape(outFile) {
  const port = 39000 + Math.floor(Math.random() * 900);
  const main = path.join(ROOT, 'dist/apps/alipay-sandbox/src/main.js');
  if (!fs.existsSync(main)) return fail('scrape', `${main} missing: build first (node tools/build.js)`), '';
  const reportDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'upm-metrics-'));
  const child = spawn(process.execPath, [main], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', SANDBOX_REPORT_DIR: reportDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`alipay-sandbox exited with ${child.exitCode}: ${stderr.slice(-500)}`);
      const live = await fetch(`${url}/health/live`).catch(() => undefined);
      if (live?.ok) break;
      if (Date.now() > deadline) throw new Error('alipay-sandbox did not answer /health/live within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const response = await fetch(`${url}/metrics`);
    const text = await response.text();
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    if (!/^# TYPE http_requests_total counter$/m.test(text)) throw new Error('/metrics lacks http_requests_total after a request');
    fs.writeFileSync(outFile, text);
    return `${text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples from alipay-sandbox`;
  } catch (error) {
    fail('scrape', error.message);
    return '';
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    fs.rmSync(reportDir, { recursive: true, force: true });
  }
}

/** The values the code gives a label, read from the union type it is typed with: metric -> label -> values. */
function labelValues() {
  const union = (file, type) => {
    const found = new RegExp(`type ${type} = ([^;]+);`).exec(fs.readFileSync(path.join(ROOT, file), 'utf8'));
    if (!found) return fail('runbooks', `${file}: type ${type} not found (the label values are read from it)`), [];
    return [...found[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
  };
  const ams = union('libs/alipay/src/models.ts', 'ResultStatus');
  const webhooks = union('libs/notification/src/webhooks/webhook.worker.ts', 'Outcome');
  return {
    upm_alipay_requests_total: { outcome: ams },
    upm_alipay_request_seconds: { outcome: ams },
    upm_webhook_deliveries_total: { outcome: webhooks },
  };
}

/**
 * What the runbooks tell an operator to look at must exist: every alert they name is in alerts.yaml, every
 * metric the code exports, every label value (in a selector, or in a table of a label's values under the metric
 * it belongs to) one the code emits, and a command run in a pod reads the pod's variables, not the operator's
 * shell's (`kubectl exec … "…$VAR…"` is expanded on the laptop before it reaches the pod).
 */
function runbooks() {
  const dir = path.join(ROOT, 'docs/runbooks');
  const exported = exportedMetrics();
  const known = new Set(EXTERNAL);
  for (const [name, type] of exported) {
    known.add(name);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) known.add(name + suffix);
  }
  const alerts = new Set(
    (YAML.parse(fs.readFileSync(ALERTS, 'utf8'))?.groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => r.alert).filter(Boolean)),
  );
  const values = labelValues();
  const checkValue = (where, metric, label, value) => {
    const allowed = values[metric]?.[label];
    if (allowed && !allowed.includes(value)) fail(where, `${metric} has no ${label}="${value}" (the code emits ${allowed.map((v) => `"${v}"`).join(', ')})`);
  };
  // the messages services log: the string literals of every logger call (`logger.warn({…}, 'AMS outcome unknown')`)
  const logMessages = [];
  for (const d of ['apps', 'libs']) {
    for (const source of walk(path.join(ROOT, d))) {
      for (const call of fs.readFileSync(source, 'utf8').matchAll(/\blogger\??\.(?:trace|debug|info|warn|error|fatal)\(([\s\S]*?)\);/g)) {
        for (const literal of call[1].matchAll(/'((?:[^'\\]|\\.)*)'|`([^`$]*)/g)) logMessages.push(literal[1] ?? literal[2]);
      }
    }
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.md'));
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const lines = text.split('\n');
    let lastMetric;
    let table;
    lines.forEach((line, i) => {
      const where = `docs/runbooks/${file}:${i + 1}`;
      for (const m of line.matchAll(/\b(Upm[A-Z]\w+)\b/g)) if (!alerts.has(m[1])) fail(where, `alert ${m[1]} is not in deploy/prometheus/alerts.yaml`);
      for (const m of line.matchAll(/`([a-z][a-z0-9_]*_(?:total|seconds|messages|payments|limit|discrepancies|count|bucket|sum))(\{[^}`]*\})?/g)) {
        if (!known.has(m[1])) fail(where, `metric ${m[1]} is not exported by apps/ or libs/`);
        lastMetric = m[1].replace(/_(bucket|sum|count)$/, '');
        for (const sel of (m[2] ?? '').matchAll(/(\w+)\s*=~?\s*"([^"]*)"/g)) checkValue(where, lastMetric, sel[1], sel[2]);
      }
      // a table whose first column is a label of the metric named above it lists that label's values
      const cells = /^\s*\|(.*)\|\s*$/.exec(line)?.[1].split('|').map((c) => c.trim().replace(/^`|`$/g, ''));
      if (!cells) table = undefined;
      else if (!table && lastMetric && values[lastMetric]?.[cells[0]]) table = { metric: lastMetric, label: cells[0] };
      else if (table && !/^:?-+:?$/.test(cells[0]) && cells[0]) checkValue(where, table.metric, table.label, cells[0]);
      // "<service> logs `<message>`" or "`<message>` lines": a message to search the logs for
      for (const m of line.matchAll(/\blogs\s+`([^`]+)`|`([^`]+)`\s+lines\b/g)) {
        const message = m[1] ?? m[2];
        if (!logMessages.some((logged) => logged.startsWith(message))) fail(where, `no service logs a message "${message}" (searching the logs for it finds nothing)`);
      }
      if (/kubectl\s.*\bexec\b/.test(line)) {
        for (const quoted of line.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
          for (const v of quoted[1].matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)) fail(where, `$${v[1]} inside double quotes is expanded by the operator's shell, not in the pod (use process.env.${v[1]} or single quotes)`);
        }
      }
    });
  }
  return `${files.length} runbooks`;
}

function metricsLint(promtoolOutput) {
  const lines = fs.readFileSync(promtoolOutput, 'utf8').split('\n').filter(Boolean);
  let waived = 0;
  for (const line of lines) {
    const name = line.split(/\s/)[0];
    if (THIRD_PARTY_METRIC.test(name)) waived++;
    else fail('promtool check metrics', line);
  }
  if (waived) notes.push(`promtool check metrics: ${waived} finding(s) on prom-client's default nodejs_/process_ metrics, not ours to rename`);
  return `${lines.length - waived} finding(s) on the platform's metrics`;
}

async function main() {
  const [command, arg] = process.argv.slice(2);
  let summary;
  if (command === 'rules') summary = rules();
  else if (command === 'dashboard' && arg) summary = dashboard(arg);
  else if (command === 'scrape' && arg) summary = await scrape(arg);
  else if (command === 'metrics-lint' && arg) summary = metricsLint(arg);
  else if (command === 'runbooks') summary = runbooks();
  else {
    console.error('usage: validate-prometheus.js rules | runbooks | dashboard <out.yaml> | scrape <out.txt> | metrics-lint <promtool-output>');
    process.exit(2);
  }
  for (const note of notes) console.log(`  note: ${note}`);
  if (problems.length) {
    for (const p of problems) console.error(`  ${p}`);
    console.error(`${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`${command}: ${summary}`);
}

main();
