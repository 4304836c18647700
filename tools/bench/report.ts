import type { PaymentRecord, PhaseRun } from './load';
import type { DatabasePressure, ResourceWindow } from './resources';
import { SCENARIOS, Scenario } from './schedule';
import { countBy, LatencySummary, summarize } from './stats';
import type { Verification } from './verify';

export interface PhaseSummary {
  name: string;
  rate: number;
  durationS: number;
  sent: number;
  final: number;
  /** payments that reached a final state inside the load window, per second of the window */
  throughput: number;
  /** every final payment over the time until the last one settled */
  overallThroughput: number;
  latency: Map<Scenario, LatencySummary>;
  /** immediate successes from the attempt the platform accepted (POS side only): the queue after admission */
  acceptedLatency?: LatencySummary;
  /** immediate successes that were refused at least once before that attempt */
  retriedBeforeAccepted: number;
  statuses: Map<string, number>;
  errors: Map<string, number>;
  maxSendLagMs: number;
}

export function summarizePhase(run: PhaseRun, records: PaymentRecord[] = run.records): PhaseSummary {
  const windowMs = run.durationS * 1000;
  const finals = records.filter((r) => r.finalAt !== undefined);
  const latency = new Map<Scenario, LatencySummary>();
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    const values = finals.filter((r) => r.scenario === scenario).map((r) => r.finalAt! - r.dueAt);
    if (values.length) latency.set(scenario, summarize(values));
  }
  const accepted = finals.filter((r) => r.scenario === '00' && r.acceptedAt !== undefined);
  const lastFinal = finals.reduce((m, r) => Math.max(m, r.finalAt!), 0);
  return {
    name: run.name,
    rate: run.rate,
    durationS: run.durationS,
    sent: records.length,
    final: finals.length,
    throughput: finals.filter((r) => r.finalAt! <= windowMs).length / run.durationS,
    overallThroughput: lastFinal > 0 ? finals.length / (lastFinal / 1000) : 0,
    latency,
    acceptedLatency: accepted.length ? summarize(accepted.map((r) => r.finalAt! - r.acceptedAt!)) : undefined,
    retriedBeforeAccepted: accepted.filter((r) => r.errors.length > 0).length,
    statuses: countBy(records, (r) => r.status ?? 'NOT FINAL'),
    errors: countBy(records.flatMap((r) => r.errors), (e) => e),
    maxSendLagMs: run.maxSendLagMs,
  };
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** A plain text table with right-aligned figures. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function latencyTable(summaries: PhaseSummary[]): string {
  const rows: Array<Array<string | number>> = [];
  for (const s of summaries) {
    for (const [scenario, l] of s.latency) {
      rows.push([`${s.name} ${scenario} ${SCENARIOS[scenario]}`, l.count, fmt(l.p50), fmt(l.p95), fmt(l.p99), fmt(l.max)]);
    }
  }
  const text = table(['phase / scenario', 'final', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], rows);
  const accepted = summaries.filter((s) => s.acceptedLatency).map(({ name, acceptedLatency: l, retriedBeforeAccepted }) =>
    `${name} 00 from the accepted attempt: p50 ${fmt(l!.p50)} ms, p95 ${fmt(l!.p95)} ms, p99 ${fmt(l!.p99)} ms (${retriedBeforeAccepted} of ${l!.count} were refused or failed at least once first)`);
  return [text, ...accepted].join('\n');
}

export function phaseTable(summaries: PhaseSummary[]): string {
  return table(
    ['phase', 'target/s', 'sent', 'final', 'final/s in window', 'final/s overall', 'statuses', 'max send lag ms'],
    summaries.map((s) => [s.name, s.rate, s.sent, s.final, fmt(s.throughput), fmt(s.overallThroughput), [...s.statuses].map(([k, v]) => `${k}=${v}`).join(' '), fmt(s.maxSendLagMs, 0)]),
  );
}

export function errorTable(summaries: PhaseSummary[]): string {
  const rows = summaries.flatMap((s) => [...s.errors].sort((a, b) => b[1] - a[1]).map(([code, n]) => [s.name, code, n] as Array<string | number>));
  return rows.length ? table(['phase', 'error', 'count'], rows) : 'no errors';
}

/**
 * Each process's CPU, memory and write system calls; given the payments final in the window, also the CPU
 * one of them cost and each process's writes per payment (which, like transactions per payment, moves
 * with batching far more than with the machine's noise).
 */
export function resourceTable(window: ResourceWindow, payments?: number): string {
  const perPayment = (n: number) => (payments ? fmt(n / payments, 1) : 'n/a');
  const rows = window.processes.map((p) => [p.name, fmt(p.cpuAvg, 0), fmt(p.cpuPeak, 0), fmt(p.rssPeakMb, 0), ...(payments === undefined ? [] : [perPayment(p.writes)])]);
  const headers = ['process', 'CPU avg %', 'CPU peak %', 'RSS peak MB', ...(payments === undefined ? [] : ['writes / payment'])];
  const lines = [table(headers, rows), `machine CPU busy over the window: ${fmt(window.machineBusy * 100, 0)}% of all cores`];
  if (payments !== undefined) {
    const ms = (withSimulator: boolean) => (payments > 0 ? `${fmt(cpuPerPayment(window, payments, { withSimulator }), 0)} ms` : 'n/a');
    lines.push(`CPU per final payment (every process above but the load generator): ${ms(true)}; without the Alipay sandbox, what a deployment's own machines would spend: ${ms(false)}`);
  }
  return lines.join('\n');
}

/**
 * Milliseconds of CPU the processes other than the load generator spent in the window per payment final in
 * it; without the simulator (the Alipay sandbox), what the platform and its Kafka, PostgreSQL and Redis cost.
 */
export function cpuPerPayment(window: ResourceWindow, payments: number, { withSimulator = true } = {}): number {
  const cpuPct = window.processes.filter((p) => !p.load && (withSimulator || !p.simulator)).reduce((sum, p) => sum + p.cpuAvg, 0);
  return (cpuPct / 100) * window.durationS * 1000 / payments;
}

/** PostgreSQL pressure per service database; `payments` (those final in the phase) turns transactions into a cost per payment. */
export function databaseTable(pressure: DatabasePressure[], poolSize: number, payments: number): string {
  const perPayment = (n: number) => (payments > 0 ? fmt(n / payments, 1) : 'n/a');
  const total = pressure.reduce((sum, p) => sum + p.transactions, 0);
  return table(
    ['database', `active peak (pool ${poolSize})`, 'active avg', 'idle in tx avg', 'lock-wait samples', 'transactions', 'per payment'],
    [
      ...pressure.map((p) => [p.database, p.activePeak, fmt(p.activeAvg, 2), fmt(p.idleInTransactionAvg, 2), p.lockWaitSamples, p.transactions, perPayment(p.transactions)]),
      ['all', '', '', '', '', total, perPayment(total)],
    ],
  );
}

export function verificationText(name: string, v: Verification): string {
  const head = `${name}: ${v.checked} payments checked against the sandbox's books: lost ${v.lost}, refused while overloaded ${v.refused}, duplicated ${v.duplicated}, unexpected outcome ${v.unexpected}`;
  return v.problems.length ? `${head}\n${v.problems.map((p) => `  - ${p}`).join('\n')}` : head;
}

export interface BenchFigures {
  rate: number;
  platform: number;
  baseline: number;
  addedP50: number;
  addedP99: number;
  lost: number;
  duplicated: number;
}

/** The run's one machine-readable line. */
export function benchLine(f: BenchFigures): string {
  const ratio = f.baseline > 0 ? f.platform / f.baseline : Number.NaN;
  return `bench: rate=${f.rate}/s platform=${fmt(f.platform)} baseline=${fmt(f.baseline)} ratio=${fmt(ratio, 2)} added_p50_ms=${fmt(f.addedP50)} added_p99_ms=${fmt(f.addedP99)} lost=${f.lost} duplicated=${f.duplicated}`;
}
