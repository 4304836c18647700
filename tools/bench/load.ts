import { performance } from 'node:perf_hooks';
import type { Arrival, Scenario } from './schedule';

/** What one simulated payment did, as the POS (or the baseline's direct caller) saw it. */
export interface PaymentRecord {
  phase: string;
  scenario: Scenario;
  /** index of the simulated terminal that sends it */
  terminal: number;
  merchantOrderId: string;
  /** the platform's paymentId, or the baseline's paymentRequestId: the sandbox's key */
  paymentId?: string;
  /** when the arrival was due, ms on the phase's clock (the open model measures from here) */
  dueAt: number;
  /** when the POS sent the attempt the platform accepted: later than `dueAt` when earlier ones were refused */
  acceptedAt?: number;
  finalAt?: number;
  status?: string;
  /** error codes met on the way (a retried 503 counts even if the payment then ended well) */
  errors: string[];
}

export interface PhaseRun {
  name: string;
  rate: number;
  durationS: number;
  /** performance.now() at the phase's start: `dueAt` and `finalAt` are relative to it */
  origin: number;
  records: PaymentRecord[];
  /** ms after origin when the last payment settled (or the drain gave up) */
  settledAt: number;
  /** how far behind schedule the generator sent, worst case (ms): large values mean the generator, not the system, lagged */
  maxSendLagMs: number;
}

export type PaymentDriver = (record: PaymentRecord, now: () => number) => Promise<void>;

/**
 * Sends each arrival at its time whether or not earlier ones have answered (open model), and waits for
 * every payment to settle or for `drainMs` after the last arrival.
 */
export async function runPhase(
  name: string,
  rate: number,
  durationS: number,
  schedule: Arrival[],
  orderId: (arrival: Arrival, index: number) => string,
  drive: PaymentDriver,
  progress: Progress,
  drainMs = 60_000,
): Promise<PhaseRun> {
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const records: PaymentRecord[] = [];
  const pending = new Set<Promise<void>>();
  let next = 0;
  let maxSendLagMs = 0;
  progress.start(name, schedule.length, durationS);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = now();
      while (next < schedule.length && schedule[next].at <= t) {
        const arrival = schedule[next];
        maxSendLagMs = Math.max(maxSendLagMs, t - arrival.at);
        const record: PaymentRecord = { phase: name, scenario: arrival.scenario, terminal: arrival.terminal, merchantOrderId: orderId(arrival, next), dueAt: arrival.at, errors: [] };
        records.push(record);
        const task = drive(record, now)
          .catch((error: unknown) => {
            record.errors.push(`DRIVER ${error instanceof Error ? error.message : String(error)}`);
          })
          .finally(() => {
            pending.delete(task);
            progress.settled(record);
          });
        pending.add(task);
        next++;
      }
      progress.update(t, next, pending.size);
      if (next >= schedule.length) resolve();
      else setTimeout(tick, Math.max(0, Math.min(5, schedule[next].at - now())));
    };
    tick();
  });
  const drainEnd = performance.now() + drainMs;
  const timer = setInterval(() => progress.update(now(), next, pending.size), 250);
  while (pending.size > 0 && performance.now() < drainEnd) {
    await Promise.race([Promise.race(pending), new Promise((r) => setTimeout(r, 250))]);
  }
  clearInterval(timer);
  progress.finish(now(), pending.size);
  return { name, rate, durationS, origin, records, settledAt: now(), maxSendLagMs };
}

/** A one-line progress bar on stderr (redrawn on a terminal, a line every 5 s otherwise). */
export class Progress {
  private name = '';
  private total = 0;
  private durationS = 0;
  private done = 0;
  private failed = 0;
  private lastLine = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  start(name: string, total: number, durationS: number): void {
    Object.assign(this, { name, total, durationS, done: 0, failed: 0, lastLine: 0 });
  }

  settled(record: PaymentRecord): void {
    this.done++;
    if (!record.status || record.errors.length) this.failed++;
  }

  update(elapsedMs: number, sent: number, inFlight: number): void {
    if (!this.tty && elapsedMs - this.lastLine < 5000) return;
    this.lastLine = elapsedMs;
    const width = 30;
    const fraction = Math.min(1, elapsedMs / 1000 / Math.max(1, this.durationS));
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    const line = `${this.name.padEnd(10)} [${bar}] ${(elapsedMs / 1000).toFixed(0).padStart(3)}s sent ${sent}/${this.total} final ${this.done} in flight ${inFlight} with errors ${this.failed}`;
    process.stderr.write(this.tty ? `\r${line}\u001b[K` : `${line}\n`);
  }

  finish(elapsedMs: number, left: number): void {
    this.lastLine = -Infinity;
    this.update(elapsedMs, this.total, left);
    if (this.tty) process.stderr.write('\n');
  }
}
