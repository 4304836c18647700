import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds used so far by a process (user + system), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Write system calls made so far by a process (`syscw` of /proc/<pid>/io): for a service, mostly socket writes. */
function writeCalls(pid: number): number | undefined {
  try {
    const match = /syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The machine's busy CPU fraction source: /proc/stat's first line. */
function machineTicks(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Processes of the machine whose command line matches, e.g. the Kafka broker or PostgreSQL backends. */
export function findProcesses(match: (cmdline: string, comm: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (match(cmdline, comm)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

export interface ProcessGroup {
  name: string;
  /** re-evaluated at every sample: PostgreSQL forks a backend per connection */
  pids: () => number[];
  /** the load generator: left out of what the platform's work costs */
  load?: boolean;
  /** the Alipay sandbox: on this machine here, never on a deployment's own */
  simulator?: boolean;
}

export interface ResourceUse {
  name: string;
  /** average CPU over the window, percent of one core */
  cpuAvg: number;
  cpuPeak: number;
  rssPeakMb: number;
  /** write system calls over the window: each statement, Kafka request or HTTP answer sent costs at least one */
  writes: number;
  load?: boolean;
  simulator?: boolean;
}

export interface ResourceWindow {
  durationS: number;
  machineBusy: number;
  processes: ResourceUse[];
}

/** Samples CPU and memory of process groups once a second; `window()` summarises since the last `mark()`. */
export class ResourceSampler {
  private timer?: NodeJS.Timeout;
  private last = new Map<string, { cpu: number; at: number }>();
  private acc = new Map<string, { cpu0: number; writes0: number; cpuPeak: number; rssPeak: number }>();
  private markAt = 0;
  private machine0 = machineTicks();
  private cpuNow = new Map<string, number>();

  constructor(private readonly groups: ProcessGroup[]) {}

  private groupCpu(group: ProcessGroup): { cpu: number; rss: number } {
    let cpu = 0;
    let rss = 0;
    for (const pid of group.pids()) {
      cpu += cpuSeconds(pid) ?? 0;
      rss += rssMb(pid) ?? 0;
    }
    return { cpu, rss };
  }

  /** read at the window's ends only, not on every sample */
  private groupWrites(group: ProcessGroup): number {
    return group.pids().reduce((sum, pid) => sum + (writeCalls(pid) ?? 0), 0);
  }

  start(): void {
    this.mark();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  mark(): void {
    this.markAt = Date.now();
    this.machine0 = machineTicks();
    this.acc.clear();
    for (const group of this.groups) {
      const { cpu, rss } = this.groupCpu(group);
      this.acc.set(group.name, { cpu0: cpu, writes0: this.groupWrites(group), cpuPeak: 0, rssPeak: rss });
      this.last.set(group.name, { cpu, at: Date.now() });
    }
  }

  private sample(): void {
    const now = Date.now();
    for (const group of this.groups) {
      const { cpu, rss } = this.groupCpu(group);
      const last = this.last.get(group.name);
      const acc = this.acc.get(group.name);
      if (last && acc && now > last.at) {
        // a backend that exited takes its CPU seconds with it: never count that as negative use
        const pct = Math.max(0, ((cpu - last.cpu) / ((now - last.at) / 1000)) * 100);
        acc.cpuPeak = Math.max(acc.cpuPeak, pct);
        acc.rssPeak = Math.max(acc.rssPeak, rss);
        this.cpuNow.set(group.name, pct);
      }
      this.last.set(group.name, { cpu, at: now });
    }
  }

  window(): ResourceWindow {
    const durationS = Math.max(0.001, (Date.now() - this.markAt) / 1000);
    const m = machineTicks();
    const processes = this.groups.map((group) => {
      const acc = this.acc.get(group.name)!;
      const { cpu } = this.groupCpu(group);
      const writes = this.groupWrites(group);
      // like CPU seconds, a backend that exited takes its count with it
      return {
        name: group.name, cpuAvg: Math.max(0, ((cpu - acc.cpu0) / durationS) * 100), cpuPeak: acc.cpuPeak, rssPeakMb: acc.rssPeak,
        writes: Math.max(0, writes - acc.writes0), load: group.load, simulator: group.simulator,
      };
    });
    return { durationS, machineBusy: (m.busy - this.machine0.busy) / Math.max(1, m.total - this.machine0.total), processes };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** The machine's busy CPU over a short interval, to say how loaded it was before the run. */
export async function machineBusy(ms: number): Promise<number> {
  const a = machineTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = machineTicks();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}

export interface DatabasePressure {
  database: string;
  /** most connections of the service that were running a statement at one sample */
  activePeak: number;
  activeAvg: number;
  /** samples with a backend waiting on a lock */
  lockWaitSamples: number;
  /** samples with a backend idle inside a transaction (the app holding a connection between statements) */
  idleInTransactionAvg: number;
  /** transactions committed or rolled back since the mark, from pg_stat_database */
  transactions: number;
}

/** Polls pg_stat_activity for the benchmark's databases: how busy each service's pool keeps PostgreSQL. */
export class DatabaseSampler {
  private client?: Client;
  private timer?: NodeJS.Timeout;
  private samples = 0;
  private busy = false;
  private readonly acc = new Map<string, { activePeak: number; activeSum: number; lockWaits: number; idleTxSum: number }>();
  /** each database's transaction count at the first sample after the mark, and at the latest */
  private readonly xacts = new Map<string, { first: number; last: number }>();

  constructor(private readonly postgresUrl: string, private readonly databases: string[]) {}

  async start(): Promise<void> {
    this.client = new Client({ connectionString: `${this.postgresUrl}/postgres`, application_name: 'bench-sampler' });
    await this.client.connect();
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.sample()
        .catch(() => undefined)
        .finally(() => (this.busy = false));
    }, 500);
    this.timer.unref();
  }

  mark(): void {
    this.samples = 0;
    this.acc.clear();
    this.xacts.clear();
  }

  private async sample(): Promise<void> {
    if (!this.client) return;
    const { rows } = await this.client.query<{ datname: string; active: string; lock_waits: string; idle_tx: string }>(
      `SELECT datname,
              count(*) FILTER (WHERE state = 'active') AS active,
              count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waits,
              count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_tx
         FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid() GROUP BY datname`,
      [this.databases],
    );
    const counts = await this.client.query<{ datname: string; xacts: string }>(
      'SELECT datname, xact_commit + xact_rollback AS xacts FROM pg_stat_database WHERE datname = ANY($1)',
      [this.databases],
    );
    for (const row of counts.rows) {
      const x = this.xacts.get(row.datname) ?? { first: Number(row.xacts), last: 0 };
      x.last = Number(row.xacts);
      this.xacts.set(row.datname, x);
    }
    this.samples++;
    for (const row of rows) {
      const a = this.acc.get(row.datname) ?? { activePeak: 0, activeSum: 0, lockWaits: 0, idleTxSum: 0 };
      a.activePeak = Math.max(a.activePeak, Number(row.active));
      a.activeSum += Number(row.active);
      if (Number(row.lock_waits) > 0) a.lockWaits++;
      a.idleTxSum += Number(row.idle_tx);
      this.acc.set(row.datname, a);
    }
  }

  window(): DatabasePressure[] {
    return this.databases.map((database) => {
      const a = this.acc.get(database) ?? { activePeak: 0, activeSum: 0, lockWaits: 0, idleTxSum: 0 };
      const n = Math.max(1, this.samples);
      const x = this.xacts.get(database);
      return { database, activePeak: a.activePeak, activeAvg: a.activeSum / n, lockWaitSamples: a.lockWaits, idleInTransactionAvg: a.idleTxSum / n, transactions: x ? x.last - x.first : 0 };
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.client?.end().catch(() => undefined);
  }
}

/** Prometheus text → `name{labels}` → value (counters, gauges, histogram sums and counts). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) values.set(line.slice(0, space), value);
  }
  return values;
}

export async function scrape(url: string): Promise<Map<string, number>> {
  try {
    const response = await fetch(`${url}/metrics`);
    return parseMetrics(await response.text());
  } catch {
    return new Map();
  }
}

/** The sum of every series of `metric` whose labels contain each of `labels`. */
export function metricSum(metrics: Map<string, number>, metric: string, labels: string[] = []): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const brace = key.indexOf('{');
    const name = brace < 0 ? key : key.slice(0, brace);
    if (name === metric && labels.every((l) => key.includes(l))) sum += value;
  }
  return sum;
}

/** The label values of `label` that `metric` has series for. */
export function metricLabelValues(metrics: Map<string, number>, metric: string, label: string): string[] {
  const found = new Set<string>();
  const re = new RegExp(`${label}="([^"]*)"`);
  for (const key of metrics.keys()) {
    if (!key.startsWith(`${metric}{`)) continue;
    const m = re.exec(key);
    if (m) found.add(m[1]);
  }
  return [...found];
}
