#!/usr/bin/env node
// Usage: node settlement-fees.js <helm-libs-dir> <work-dir> [<chart-dir>]
//
// The chart must refuse exactly the fee settings that settlement refuses at start-up: a value the chart takes and
// the service refuses is a pod in CrashLoopBackOff, a value the chart refuses and the service takes is a setting
// finance cannot use. For each case of config.settlement.feeMinor / feeRateBps, the chart's verdict (helm lint
// --strict + helm template of the chart defaults with that case, which applies values.schema.json and the
// templates' checks) is compared with the service's (its compiled config definition on the environment the value
// stands for); when both take it, the rendered ConfigMap must give settlement the same fee schedule. The same holds
// for the fee the sandbox charges in its report files (config.sandbox, SANDBOX_FEE_*), which takes the same form.
const fs = require('node:fs');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '../..');
const CHART = process.argv[4] ?? path.join(ROOT, 'helm/upm-platform');
const { loadConfig } = require(path.join(ROOT, 'dist/libs/shared/config/src'));
const { SUPPORTED_CURRENCIES } = require(path.join(ROOT, 'dist/libs/contracts/src'));

/** Each service whose fee schedule the chart sets: where in the values, which variables, and what its config makes of them. */
const SUBJECTS = [
  {
    values: 'settlement',
    minor: 'SETTLEMENT_FEE_MINOR',
    rate: 'SETTLEMENT_FEE_RATE_BPS',
    definition: require(path.join(ROOT, 'dist/apps/settlement/src/config.js')).configDefinition,
    fees: (config) => config.settlement,
    isConfigMap: (data) => 'SETTLEMENT_FEE_RATE_BPS' in data,
  },
  {
    values: 'sandbox',
    minor: 'SANDBOX_FEE_MINOR',
    rate: 'SANDBOX_FEE_RATE_BPS',
    definition: require(path.join(ROOT, 'dist/apps/alipay-sandbox/src/config.js')).configDefinition,
    fees: (config) => config.sandbox.fees,
    // the sandbox's ConfigMap: it always holds the report folder
    isConfigMap: (data) => 'SANDBOX_REPORT_DIR' in data,
  },
];
const run = promisify(execFile);

/** [name, fee values]; `null` deletes the default, as `helm -f` does */
const CASES = [
  ['one figure', { feeMinor: '10' }],
  ['per currency', { feeMinor: 'HKD:100,JPY:1' }],
  ['a bare figure among currencies', { feeMinor: 'HKD:100, 5 ,JPY:1' }],
  // (a block scalar starting with a tab is no YAML to Helm: the values files keep tabs inside a line)
  ['tabs around entries', { feeMinor: 'HKD:100\t,\t5' }],
  ['line breaks around entries', { feeMinor: 'HKD:100,\r\n5\n' }],
  ['a no-break space around an entry', { feeMinor: 'HKD:100,\u00a05' }],
  ['empty: the default', { feeMinor: '' }],
  ['unset: the default', { feeMinor: null }],
  ['only spaces', { feeMinor: '   ' }],
  ['a currency named twice', { feeMinor: 'HKD:100,JPY:1,HKD:10' }],
  ['every currency the platform takes', { feeMinor: SUPPORTED_CURRENCIES.map((ccy, i) => `${ccy}:${i}`).join(',') }],
  ['a misspelt currency', { feeMinor: 'HDK:100,5' }],
  ['a three-decimal currency', { feeMinor: 'KWD:100' }],
  ['two bare figures', { feeMinor: '5,JPY:1,6' }],
  ['lower-case currency', { feeMinor: 'hkd:100' }],
  ['an empty entry', { feeMinor: 'HKD:100,,5' }],
  ['a trailing comma', { feeMinor: '5,' }],
  ['a negative figure', { feeMinor: '-5' }],
  ['a decimal figure', { feeMinor: 'HKD:1.00' }],
  ['13 digits', { feeMinor: '1234567890123' }],
  ['rate 2.2 %', { feeRateBps: 220 }],
  ['rate 100 %', { feeRateBps: 10000 }],
  ['rate above 100 %', { feeRateBps: 10001 }],
  ['negative rate', { feeRateBps: -1 }],
  ['fractional basis points', { feeRateBps: 2.5 }],
  ['unset rate: the default', { feeRateBps: null }],
];

/** The environment a settings case stands for, as the service would read it. */
function envOf(subject, settings) {
  const env = {};
  if (typeof settings.feeMinor === 'string') env[subject.minor] = settings.feeMinor;
  if (typeof settings.feeRateBps === 'number') env[subject.rate] = String(settings.feeRateBps);
  return env;
}

function serviceVerdict(subject, env) {
  try {
    const { feeMinor, feeMinorByCurrency, feeRateBps } = subject.fees(loadConfig(subject.definition, env));
    return { ok: true, fees: JSON.stringify({ feeMinor: String(feeMinor), feeMinorByCurrency: Object.fromEntries(Object.entries(feeMinorByCurrency).map(([c, v]) => [c, String(v)])), feeRateBps }) };
  } catch (error) {
    return { ok: false, why: error.problems?.join('; ') ?? String(error) };
  }
}

async function chartVerdict(libs, work, index, subject, settings) {
  const dir = path.join(work, `fees-${index}`);
  fs.mkdirSync(dir, { recursive: true });
  const values = path.join(dir, 'values.yaml');
  fs.writeFileSync(values, YAML.stringify({ config: { [subject.values]: settings } }));
  await run('node', [path.join(__dirname, 'prepare-charts.js'), CHART, values, path.join(dir, 'chart')]);
  const output = path.join(dir, 'rendered.yaml');
  try {
    await run('java', ['-cp', `${libs}/*`, path.join(__dirname, 'helm/HelmCheck.java'), path.join(dir, 'chart/lint'), path.join(dir, 'chart/render'), values, output]);
  } catch (error) {
    return { ok: false, why: String(error.stderr).trim().split('\n').filter((l) => /failed|error|fail/i.test(l)).slice(-1)[0] ?? 'render failed' };
  }
  const configMap = YAML.parseAllDocuments(fs.readFileSync(output, 'utf8')).map((d) => d.toJSON())
    .find((o) => o && o.kind === 'ConfigMap' && o.data && subject.isConfigMap(o.data));
  if (!configMap) return { ok: false, why: `no ConfigMap of config.${subject.values} rendered` };
  const env = Object.fromEntries([subject.minor, subject.rate].filter((k) => k in configMap.data).map((k) => [k, configMap.data[k]]));
  return { ok: true, rendered: serviceVerdict(subject, env) };
}

async function main() {
  const [libs, work] = process.argv.slice(2);
  if (!libs || !work) {
    console.error('usage: settlement-fees.js <helm-libs-dir> <work-dir>');
    process.exit(2);
  }
  const runs = SUBJECTS.flatMap((subject) => CASES.map(([name, settings]) => ({ subject, name, settings })));
  const results = new Array(runs.length);
  let next = 0;
  // a few JVMs at a time
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < runs.length) {
      const index = next++;
      results[index] = await chartVerdict(libs, work, index, runs[index].subject, runs[index].settings);
    }
  }));
  let wrong = 0;
  runs.forEach(({ subject, name, settings }, index) => {
    const service = serviceVerdict(subject, envOf(subject, settings));
    const chart = results[index];
    let problem;
    if (chart.ok !== service.ok) problem = chart.ok ? `the chart takes it, the service refuses it: ${service.why}` : `the chart refuses it (${chart.why}), the service takes it`;
    else if (chart.ok && !chart.rendered.ok) problem = `the rendered ConfigMap makes the service refuse to start: ${chart.rendered.why}`;
    else if (chart.ok && chart.rendered.fees !== service.fees) problem = `the rendered ConfigMap gives ${chart.rendered.fees}, the value stands for ${service.fees}`;
    const verdict = service.ok ? 'taken' : 'refused';
    console.log(`${problem ? 'WRONG' : 'ok   '} ${verdict.padEnd(7)} config.${subject.values} ${name} ${JSON.stringify(settings)}${problem ? `: ${problem}` : ''}`);
    if (problem) wrong += 1;
  });
  if (wrong) {
    console.error(`${wrong} of ${runs.length} fee settings: the chart and the service disagree`);
    process.exit(1);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
