import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, table } from './report';

/** The parts of a V8 CPU profile (`node --cpu-prof`) that say where the time went. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** CPU time the process was busy, in ms (everything but idle) */
  busyMs: number;
  /** busy time by what ran, in ms, largest first */
  categories: Array<[string, number]>;
}

/** Native frames that are a write system call: a statement, Kafka request, Redis command or HTTP answer sent. */
const SOCKET_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString']);

const PACKAGES: Array<[RegExp, string]> = [
  [/^pg(-protocol|-pool|-types)?$/, 'node-postgres'],
  [/^typeorm$/, 'TypeORM'],
  [/^kafkajs$/, 'kafkajs'],
  [/^(@opentelemetry\/.*|require-in-the-middle)$/, 'OpenTelemetry'],
  [/^(@nestjs\/.*|express|router|body-parser|path-to-regexp)$/, 'NestJS and Express'],
  [/^ioredis$/, 'ioredis'],
  [/^zod$/, 'zod (contract checks)'],
  [/^pino$/, 'pino (logs)'],
  [/^prom-client$/, 'prom-client (metrics)'],
];

/** What a sampled frame is charged to: a kind of work rather than a function, so profiles compare across services. */
export function categoryOf(frame: { functionName: string; url: string }): string | undefined {
  const { functionName, url } = frame;
  if (functionName === '(idle)') return undefined;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (SOCKET_WRITES.has(functionName) && !url) return 'socket writes (system calls)';
  if (url === 'node:internal/crypto/sig') return 'RSA signatures';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return PACKAGES.find(([pattern]) => pattern.test(pkg))?.[1] ?? 'other packages';
  if (/\/dist\/(apps|libs)\//.test(url)) return 'platform code';
  if (url.startsWith('node:')) return 'Node.js core';
  return 'V8 and other native (JSON, microtasks, compiling)';
}

/** Busy time of one profile by category (self time: each sample is charged to the frame that was running). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byCategory = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const category = frame ? categoryOf(frame) : undefined;
    if (!category) return;
    const us = profile.timeDeltas[i] ?? 0;
    busyUs += us;
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
  });
  return {
    busyMs: busyUs / 1000,
    categories: [...byCategory].map(([name, us]): [string, number] => [name, us / 1000]).sort((a, b) => b[1] - a[1]),
  };
}

/** The newest profile a process wrote into `dir` (node names them by time and pid), if any. */
export function readLatestProfile(dir: string): CpuProfile | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile')).sort();
  } catch {
    return undefined;
  }
  const latest = files.at(-1);
  return latest ? (JSON.parse(readFileSync(path.join(dir, latest), 'utf8')) as CpuProfile) : undefined;
}

/** One column per service: its busy CPU seconds, then each category's share of them, categories by their total. */
export function profileTable(summaries: Array<[string, ProfileSummary]>): string {
  const totals = new Map<string, number>();
  for (const [, summary] of summaries) for (const [name, ms] of summary.categories) totals.set(name, (totals.get(name) ?? 0) + ms);
  const order = [...totals].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const share = (summary: ProfileSummary, name: string) => {
    const ms = summary.categories.find(([category]) => category === name)?.[1] ?? 0;
    return summary.busyMs > 0 ? `${fmt((ms / summary.busyMs) * 100, 0)} %` : 'n/a';
  };
  return table(
    ['', ...summaries.map(([service]) => service)],
    [['busy CPU s', ...summaries.map(([, summary]) => fmt(summary.busyMs / 1000, 1))], ...order.map((name) => [name, ...summaries.map(([, summary]) => share(summary, name))])],
  );
}
