/**
 * `npm run bench`: thousands of stores on one box, against the POS API, compared with a POS calling
 * Alipay (the sandbox) directly through @upm/alipay. `npm run bench -- --help` lists the options.
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { AmsClient } from '@upm/alipay';
import { POSTGRES_URL } from '../services';
import { directDriver, posDriver, BenchTerminal } from './drivers';
import { JsonHttp } from './http';
import { PaymentDriver, PhaseRun, Progress, runPhase } from './load';
import { BenchOptions, parseOptions, USAGE } from './options';
import { AppName, BenchPlatform, BenchTiming, onboard, startBenchPlatform } from './platform';
import { profileTable, ProfileSummary, readLatestProfile, summarizeProfile } from './profile';
import {
  benchLine, databaseTable, errorTable, fmt, latencyTable, PhaseSummary, phaseTable, resourceTable, summarizePhase, table, verificationText,
} from './report';
import { DatabaseSampler, findProcesses, machineBusy, metricLabelValues, metricSum, ProcessGroup, ResourceSampler, ResourceWindow, scrape } from './resources';
import { arrivals, orderId, rampRates, seededRandom } from './schedule';
import { added } from './stats';
import { chart, finalsPerSecond, latencyPerBucket, Panel } from './svg';
import { verify } from './verify';

const ROOT = path.resolve(__dirname, '../../..');
const out = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);

function timingFor(o: BenchOptions): BenchTiming {
  return {
    sandboxTimeFactor: o.timeFactor,
    httpTimeoutMs: 3000,
    resultGraceMs: 1000,
    firstInquiryDelayMs: 1000,
    inquiryIntervalMs: 500,
    maxInquiries: 6,
    cancelRetryDelaysMs: [200, 300, 300, 500, 500],
    timerPollMs: 100,
  };
}

interface Context {
  o: BenchOptions;
  platform: BenchPlatform;
  terminals: BenchTerminal[];
  gateway: JsonHttp;
  sandbox: JsonHttp;
  direct: AmsClient;
  resources: ResourceSampler;
  database: DatabaseSampler;
  progress: Progress;
  runId: string;
  codeBase: number;
  phases: number;
}

async function phase(ctx: Context, name: string, rate: number, durationS: number, driver: PaymentDriver): Promise<PhaseRun> {
  const random = seededRandom(ctx.o.seed * 1000 + ctx.phases++);
  const schedule = arrivals(rate, durationS, ctx.o.mix, ctx.terminals.length, random);
  return runPhase(name, rate, durationS, schedule, (_a, i) => orderId(ctx.runId, name, i), driver, ctx.progress, 90_000);
}

function platformDriver(ctx: Context): PaymentDriver {
  ctx.codeBase += 10_000_000;
  return posDriver(ctx.gateway, ctx.terminals, ctx.codeBase, ctx.o.waitSeconds, 120_000);
}

function baselineDriver(ctx: Context): PaymentDriver {
  ctx.codeBase += 10_000_000;
  const t = timingFor(ctx.o);
  return directDriver(ctx.direct, ctx.terminals, ctx.codeBase, t, ctx.runId);
}

/** What the services' own metrics say about a phase: saga completions, Kafka apply times, outbox backlog, AMS latency. */
class ServiceMetrics {
  private before = new Map<AppName, Map<string, number>>();
  private backlogPeak = new Map<AppName, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly platform: BenchPlatform) {}

  async mark(): Promise<void> {
    this.backlogPeak.clear();
    for (const [app, s] of this.platform.services) this.before.set(app, await scrape(s.url));
    if (!this.timer) {
      this.timer = setInterval(() => void this.sampleBacklog(), 2000);
      this.timer.unref();
    }
  }

  private async sampleBacklog(): Promise<void> {
    for (const [app, s] of this.platform.services) {
      const backlog = metricSum(await scrape(s.url), 'outbox_backlog_messages');
      this.backlogPeak.set(app, Math.max(this.backlogPeak.get(app) ?? 0, backlog));
    }
  }

  async report(): Promise<string> {
    const lines: string[] = [];
    const after = new Map<AppName, Map<string, number>>();
    for (const [app, s] of this.platform.services) after.set(app, await scrape(s.url));
    const delta = (app: AppName, metric: string, labels: string[] = []) => metricSum(after.get(app) ?? new Map(), metric, labels) - metricSum(this.before.get(app) ?? new Map(), metric, labels);
    const orchestrator = after.get('payment-orchestrator') ?? new Map();
    const finals = metricLabelValues(orchestrator, 'upm_payments_final_total', 'status').map((status) => `${status}=${delta('payment-orchestrator', 'upm_payments_final_total', [`status="${status}"`])}`);
    lines.push(`saga completions (orchestrator's upm_payments_final_total during the phase): ${finals.join(' ') || 'none'}`);
    const rows: Array<Array<string | number>> = [];
    for (const app of this.platform.services.keys()) {
      const metrics = after.get(app) ?? new Map();
      for (const group of metricLabelValues(metrics, 'kafka_message_processing_seconds_count', 'group')) {
        const label = [`group="${group}"`];
        const n = delta(app, 'kafka_message_processing_seconds_count', label);
        const sum = delta(app, 'kafka_message_processing_seconds_sum', label);
        rows.push([app, group, n, fmt(n ? (sum / n) * 1000 : Number.NaN, 2), fmt(sum, 1)]);
      }
    }
    if (rows.length) lines.push(table(['service', 'consumer group', 'messages', 'avg apply ms', 'busy s'], rows));
    const ams = metricLabelValues(after.get('alipay-connector') ?? new Map(), 'upm_alipay_request_seconds_count', 'endpoint').map((endpoint) => {
      const label = [`endpoint="${endpoint}"`];
      const n = delta('alipay-connector', 'upm_alipay_request_seconds_count', label);
      const sum = delta('alipay-connector', 'upm_alipay_request_seconds_sum', label);
      return `${endpoint} ${n} calls avg ${fmt(n ? (sum / n) * 1000 : Number.NaN)} ms`;
    });
    if (ams.length) lines.push(`connector → sandbox: ${ams.join('; ')}`);
    lines.push(`outbox backlog peak: ${[...this.backlogPeak].map(([app, n]) => `${app}=${n}`).join(' ')}`);
    return lines.join('\n');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

async function sagaStatuses(platform: BenchPlatform): Promise<string> {
  const client = new Client({ connectionString: platform.databases.get('payment-orchestrator') });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM sagas GROUP BY status ORDER BY status');
    const timers = await client.query<{ n: string }>('SELECT count(*) AS n FROM timers');
    return `${rows.map((r) => `${r.status}=${r.n}`).join(' ')}; pending timers ${timers.rows[0].n}`;
  } finally {
    await client.end();
  }
}

function processGroups(platform: BenchPlatform): ProcessGroup[] {
  const groups: ProcessGroup[] = [...platform.services].map(([app, s]) => ({ name: app, pids: () => (s.child.pid ? [s.child.pid] : []), simulator: app === 'alipay-sandbox' }));
  const kafka = findProcesses((cmd) => cmd.includes('kafka.Kafka'));
  const redis = findProcesses((_cmd, comm) => comm === 'redis-server');
  groups.push({ name: 'kafka broker (shared)', pids: () => kafka });
  groups.push({ name: 'postgres, all backends (shared)', pids: () => findProcesses((_cmd, comm) => comm === 'postgres') });
  groups.push({ name: 'redis (shared)', pids: () => redis });
  groups.push({ name: 'load generator (this process)', pids: () => [process.pid], load: true });
  return groups;
}

const WARN_LEVELS = new Set(['warn', 'error', 'fatal']);

function serviceWarnings(platform: BenchPlatform): string {
  const lines: string[] = [];
  for (const [app, s] of platform.services) {
    const counts = new Map<string, number>();
    for (const entry of s.logs) {
      if (!WARN_LEVELS.has(String(entry.level))) continue;
      const message = String(entry.msg ?? entry.raw ?? '').slice(0, 160);
      counts.set(message, (counts.get(message) ?? 0) + 1);
    }
    for (const [message, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5)) lines.push(`  ${app}: ${n} × ${message}`);
  }
  return lines.length ? `service warnings and errors (most frequent):\n${lines.join('\n')}` : 'no service logged a warning or an error';
}

function writeChart(file: string, svg: string): string {
  const target = path.resolve(ROOT, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, svg);
  return path.relative(ROOT, target);
}

/** Runs the steady phases and reports them; returns the closing `bench:` line. */
async function steady(ctx: Context): Promise<string> {
  const { o } = ctx;
  const metrics = new ServiceMetrics(ctx.platform);
  const warm: PhaseRun[] = [];
  if (o.warmupS > 0) {
    warm.push(await phase(ctx, 'warmup', o.warmupRate, o.warmupS, platformDriver(ctx)));
    if (o.baseline) warm.push(await phase(ctx, 'warmup-direct', o.warmupRate, o.warmupS, baselineDriver(ctx)));
  }
  let baseline: PhaseRun | undefined;
  let baselineResources: ResourceWindow | undefined;
  if (o.baseline) {
    ctx.resources.mark();
    baseline = await phase(ctx, 'baseline', o.rate, o.durationS, baselineDriver(ctx));
    baselineResources = ctx.resources.window();
  }
  ctx.resources.mark();
  ctx.database.mark();
  await metrics.mark();
  const platform = await phase(ctx, 'platform', o.rate, o.durationS, platformDriver(ctx));
  const platformResources = ctx.resources.window();
  const pressure = ctx.database.window();
  const serviceReport = await metrics.report();
  metrics.stop();

  note('reading the sandbox books…');
  const platformRecords = [...warm.filter((w) => w.name === 'warmup').flatMap((w) => w.records), ...platform.records];
  const platformCheck = await verify(ctx.sandbox, platformRecords);
  const baselineCheck = baseline ? await verify(ctx.sandbox, [...warm.filter((w) => w.name !== 'warmup').flatMap((w) => w.records), ...baseline.records]) : undefined;

  const summaries: PhaseSummary[] = [summarizePhase(platform), ...(baseline ? [summarizePhase(baseline)] : [])];
  out();
  out('== throughput (open arrivals; "in window" = final within the load window / its length)');
  out(phaseTable(summaries));
  out();
  out('== POS-observed latency, from the moment each payment was due to its final status');
  out(latencyTable(summaries));
  out();
  out('== errors by code (a retried 429/503 counts even when the payment then ended well)');
  out(errorTable(summaries));
  out();
  out('== platform internals during the platform phase');
  out(serviceReport);
  out(`sagas in the orchestrator's database at the end: ${await sagaStatuses(ctx.platform)}`);
  out(serviceWarnings(ctx.platform));
  out();
  out(`== resources during the platform phase (${fmt(platformResources.durationS, 0)} s)`);
  out(resourceTable(platformResources, summaries[0].final));
  out();
  out(databaseTable(pressure, o.poolSize ?? 10, summaries[0].final));
  if (baselineResources) {
    out();
    out(`== resources during the baseline phase (${fmt(baselineResources.durationS, 0)} s)`);
    out(resourceTable(baselineResources));
  }
  out();
  out('== exactly one charge per payment (sandbox books)');
  out(verificationText('platform', platformCheck));
  if (baselineCheck) out(verificationText('baseline', baselineCheck));

  const p = summaries[0];
  const b = summaries[1];
  const p00 = p.latency.get('00');
  const b00 = b?.latency.get('00');
  const addedP50 = added(p00?.p50 ?? Number.NaN, b00?.p50 ?? Number.NaN);
  const addedP99 = added(p00?.p99 ?? Number.NaN, b00?.p99 ?? Number.NaN);
  out();
  out(`== platform / baseline: throughput ratio ${fmt(b ? p.throughput / b.throughput : Number.NaN, 2)}, added latency for immediate successes p50 ${fmt(addedP50)} ms, p99 ${fmt(addedP99)} ms`);

  const panels: Panel[] = [
    {
      title: `Payments reaching a final state per second (target ${o.rate}/s)`, xLabel: 'second of the phase', yLabel: 'final payments / s',
      series: [
        { name: 'platform', color: '#1f77b4', points: finalsPerSecond(platform.records, o.durationS) },
        ...(baseline ? [{ name: 'direct to Alipay', color: '#ff7f0e', points: finalsPerSecond(baseline.records, o.durationS) }] : []),
        { name: 'target', color: '#999', dashed: true, points: [[0, o.rate], [o.durationS, o.rate]] as Array<[number, number]> },
      ],
    },
    {
      title: 'Immediate successes: POS-observed latency (per 2 s of arrivals)', xLabel: 'second of the phase', yLabel: 'ms',
      series: [
        { name: 'platform p50', color: '#1f77b4', dashed: true, points: latencyPerBucket(platform.records.filter((r) => r.scenario === '00'), o.durationS, 50) },
        { name: 'platform p99', color: '#1f77b4', points: latencyPerBucket(platform.records.filter((r) => r.scenario === '00'), o.durationS, 99) },
        ...(baseline ? [
          { name: 'direct p50', color: '#ff7f0e', dashed: true, points: latencyPerBucket(baseline.records.filter((r) => r.scenario === '00'), o.durationS, 50) },
          { name: 'direct p99', color: '#ff7f0e', points: latencyPerBucket(baseline.records.filter((r) => r.scenario === '00'), o.durationS, 99) },
        ] : []),
      ],
    },
  ];
  out(`chart: ${writeChart(o.chart ?? 'docs/benchmarks/steady.svg', chart(`UPM Platform vs direct AMS calls, ${o.rate}/s for ${o.durationS} s, ${o.stores} stores × ${o.terminalsPerStore} terminals`, panels))}`);
  return benchLine({ rate: o.rate, platform: p.throughput, baseline: b?.throughput ?? Number.NaN, addedP50, addedP99, lost: platformCheck.lost, duplicated: platformCheck.duplicated });
}

/** Runs the ramp and reports it; returns the closing `bench:` line. */
async function ramp(ctx: Context): Promise<string> {
  const { o } = ctx;
  if (o.warmupS > 0) await phase(ctx, 'warmup', o.warmupRate, o.warmupS, platformDriver(ctx));
  const steps: Array<{ rate: number; summary: PhaseSummary; resources: ResourceWindow; errorPct: number; p99: number; ok: boolean; why: string; run: PhaseRun }> = [];
  for (const rate of rampRates(o.rampFrom, o.rampTo, o.rampStep)) {
    ctx.resources.mark();
    const run = await phase(ctx, `ramp ${rate}/s`, rate, o.rampStepS, platformDriver(ctx));
    const resources = ctx.resources.window();
    const summary = summarizePhase(run);
    const bad = run.records.filter((r) => !r.status || r.errors.length).length;
    const errorPct = (bad / Math.max(1, run.records.length)) * 100;
    const p99 = summary.latency.get('00')?.p99 ?? Number.NaN;
    const reasons = [
      ...(!(p99 <= o.p99LimitMs) ? [`p99 ${fmt(p99)} ms > ${o.p99LimitMs}`] : []),
      ...(errorPct > o.errorLimitPct ? [`errors ${fmt(errorPct, 2)}% > ${o.errorLimitPct}%`] : []),
      ...(summary.throughput < 0.9 * summary.sent / o.rampStepS ? [`final/s ${fmt(summary.throughput)} < 90% of offered`] : []),
    ];
    steps.push({ rate, summary, resources, errorPct, p99, ok: reasons.length === 0, why: reasons.join(', '), run });
    note(`ramp ${rate}/s: final/s ${fmt(summary.throughput)}, p99 ${fmt(p99)} ms, errors ${fmt(errorPct, 2)}% ${reasons.length ? `→ stop (${reasons.join(', ')})` : ''}`);
    if (reasons.length) break;
  }
  const passed = steps.filter((s) => s.ok);
  const best = passed.at(-1);
  out();
  out(`== ramp: ${o.rampStepS} s per step; limits p99 of immediate successes ≤ ${o.p99LimitMs} ms, errors ≤ ${o.errorLimitPct}%, final/s ≥ 90% of offered`);
  const names = steps[0]?.resources.processes.map((p) => p.name) ?? [];
  out(table(
    ['target/s', 'final/s', 'p50 ms', 'p99 ms', 'errors %', ...names.map((n) => `${n.split(' ')[0]} CPU%`), 'machine %', 'verdict'],
    steps.map((s) => [
      s.rate, fmt(s.summary.throughput), fmt(s.summary.latency.get('00')?.p50 ?? Number.NaN), fmt(s.p99), fmt(s.errorPct, 2),
      ...s.resources.processes.map((p) => fmt(p.cpuAvg, 0)), fmt(s.resources.machineBusy * 100, 0), s.ok ? 'ok' : s.why,
    ]),
  ));
  out();
  out(`memory (RSS peak MB) at the last step: ${steps.at(-1)?.resources.processes.map((p) => `${p.name}=${fmt(p.rssPeakMb, 0)}`).join(' ')}`);
  out(`highest sustained rate: ${best ? `${best.rate}/s (${fmt(best.summary.throughput)} final/s)` : `none (${o.rampFrom}/s already broke a limit)`}`);
  out(errorTable(steps.map((s) => s.summary)));

  out(serviceWarnings(ctx.platform));
  const rampCheck = await verify(ctx.sandbox, steps.flatMap((s) => s.run.records));
  out(verificationText('platform (all ramp steps)', rampCheck));

  let baselineThroughput = Number.NaN;
  let addedP50 = Number.NaN;
  let addedP99 = Number.NaN;
  if (best && o.baseline) {
    const direct = summarizePhase(await phase(ctx, 'baseline', best.rate, o.rampStepS, baselineDriver(ctx)));
    baselineThroughput = direct.throughput;
    addedP50 = added(best.summary.latency.get('00')?.p50 ?? Number.NaN, direct.latency.get('00')?.p50 ?? Number.NaN);
    addedP99 = added(best.p99, direct.latency.get('00')?.p99 ?? Number.NaN);
    out(`baseline at ${best.rate}/s: final/s ${fmt(direct.throughput)}, immediate successes p50 ${fmt(direct.latency.get('00')?.p50 ?? Number.NaN)} ms p99 ${fmt(direct.latency.get('00')?.p99 ?? Number.NaN)} ms`);
  }
  const panels: Panel[] = [
    {
      title: 'Throughput by offered rate', xLabel: 'offered payments / s', yLabel: 'final payments / s',
      series: [
        { name: 'platform final/s', color: '#1f77b4', points: steps.map((s) => [s.rate, s.summary.throughput]) },
        { name: 'ideal', color: '#999', dashed: true, points: steps.map((s) => [s.rate, s.rate]) },
      ],
    },
    {
      title: 'Immediate successes: POS-observed latency, and machine CPU', xLabel: 'offered payments / s', yLabel: 'ms  /  % of all cores',
      series: [
        { name: 'p50 ms', color: '#2ca02c', dashed: true, points: steps.map((s) => [s.rate, s.summary.latency.get('00')?.p50 ?? Number.NaN]) },
        { name: 'p99 ms', color: '#d62728', points: steps.map((s) => [s.rate, s.p99]) },
        { name: 'machine CPU %', color: '#9467bd', dashed: true, points: steps.map((s) => [s.rate, s.resources.machineBusy * 100]) },
      ],
    },
  ];
  out(`chart: ${writeChart(o.chart ?? 'docs/benchmarks/ramp.svg', chart(`UPM Platform ramp, ${o.stores} stores × ${o.terminalsPerStore} terminals`, panels))}`);
  return benchLine({ rate: best?.rate ?? 0, platform: best?.summary.throughput ?? 0, baseline: baselineThroughput, addedP50, addedP99, lost: rampCheck.lost, duplicated: rampCheck.duplicated });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.help) {
    out(USAGE);
    return;
  }
  const cpu = cpus();
  out(`machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30)} GiB RAM (${fmt(freemem() / 2 ** 30)} free), Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  out(`machine CPU busy before the run (3 s): ${fmt((await machineBusy(3000)) * 100, 0)}% of all cores`);
  out(`mode: ${o.ramp ? `ramp ${o.rampFrom}→${o.rampTo}/s step ${o.rampStep} every ${o.rampStepS} s` : `${o.rate}/s for ${o.durationS} s`}; ${o.stores} stores × ${o.terminalsPerStore} terminals in ${o.merchants} chains; mix ${o.mixText}; warmup ${o.warmupS} s at ${o.warmupRate}/s${o.partitions ? `; at most ${o.partitions} partitions per topic` : ''}`);
  const timing = timingFor(o);
  out(`timing: sandbox time factor ${timing.sandboxTimeFactor}, first inquiry ${timing.firstInquiryDelayMs} ms, every ${timing.inquiryIntervalMs} ms, ${timing.maxInquiries} inquiries, then cancel; POS waitSeconds ${o.waitSeconds}`);

  const started = Date.now();
  const profileDir = o.profileDir && path.resolve(o.profileDir);
  const platform = await startBenchPlatform(
    {
      basePort: o.basePort, timing, poolSize: o.poolSize, rateLimitPerSecond: o.rateLimit, partitions: o.partitions,
      kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: o.logLevel, profileDir,
    },
    note,
  );
  let stopping = false;
  let closingLine = '';
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await platform.stop();
  };
  process.once('SIGINT', () => void shutdown().finally(() => process.exit(130)));
  try {
    out(`platform started in ${fmt((Date.now() - started) / 1000)} s (topic prefix ${platform.prefix}, ports ${o.basePort}–${o.basePort + 10})`);
    const gateway = new JsonHttp(platform.urls.gateway);
    const sandbox = new JsonHttp(platform.urls.sandbox, 64);
    const t0 = Date.now();
    const terminals = await onboard(gateway, o.stores, o.terminalsPerStore, o.merchants);
    out(`onboarded ${terminals.length} terminals in one CSV import in ${fmt((Date.now() - t0) / 1000)} s`);
    const direct = new AmsClient({ baseUrl: platform.urls.sandbox, credentials: { clientId: platform.direct.clientId, privateKey: platform.direct.privateKey, alipayPublicKey: platform.direct.alipayPublicKey }, timeoutMs: timing.httpTimeoutMs, maxSockets: 1024 });
    const resources = new ResourceSampler(processGroups(platform));
    resources.start();
    const database = new DatabaseSampler(POSTGRES_URL, [...platform.databases.values()].map((url) => new URL(url).pathname.slice(1)));
    await database.start();
    const ctx: Context = {
      o, platform, terminals, gateway, sandbox, direct, resources, database, progress: new Progress(),
      runId: `B${Date.now().toString(36)}`, codeBase: Math.floor(Math.random() * 1e6) * 1e7, phases: 0,
    };
    try {
      closingLine = o.ramp ? await ramp(ctx) : await steady(ctx);
    } finally {
      resources.stop();
      await database.stop();
      direct.close();
      gateway.close();
      sandbox.close();
    }
  } finally {
    await shutdown();
  }
  if (profileDir) reportProfiles(profileDir, [...platform.services.keys()]);
  // the run ends with the machine-readable line
  out();
  out(closingLine);
}

/** Where each service's CPU went over its whole run (warm-up and baseline phases included), from its profile. */
function reportProfiles(dir: string, apps: AppName[]): void {
  const summaries = apps.flatMap((app): Array<[string, ProfileSummary]> => {
    const profile = readLatestProfile(path.join(dir, app));
    return profile ? [[app, summarizeProfile(profile)]] : [];
  });
  out();
  out(`== CPU by kind of work, % of each service's busy time over its whole run (profiles in ${dir})`);
  out(summaries.length ? profileTable(summaries) : 'no profile was written (a service that is killed writes none)');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
