import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { PaymentViewV1 } from '@upm/contracts';

const CHANNEL = 'gw:payment-updated';

/** A wake-up: the payment whose read model changed, with the view the change stored. */
interface Update {
  paymentId: string;
  view: PaymentViewV1;
}

/**
 * Tells every gateway replica that a payment's read model changed, so a POS request waiting on another
 * replica answers at once. Redis pub/sub is only a wake-up: waiters also re-read the database periodically,
 * so a lost notification delays an answer by at most that period and loses nothing. A wake-up carries the
 * view that was stored, so a payment's waiter takes it without reading the row again (a newer sequence
 * only: wake-ups from two replicas may cross).
 */
@Injectable()
export class PaymentUpdates implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private subscriber?: Redis;
  /** shutting down: every waiter answers what it holds now, within the shutdown grace */
  private closing = false;

  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, message: string) => {
      const update = parseUpdate(message);
      if (update) this.wake(update.paymentId, update.view);
    });
    await this.subscriber.subscribe(CHANNEL);
  }

  /**
   * Before the HTTP server closes, which waits for every open request: a POS request waiting on a payment
   * answers now, or it would hold the replica's shutdown for up to its whole wait, past the grace.
   */
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const set of this.waiters.values()) for (const waiter of set) waiter.take(undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.beforeApplicationShutdown();
    await this.subscriber?.quit().catch(() => undefined);
  }

  async publish(view: PaymentViewV1): Promise<void> {
    const update: Update = { paymentId: view.paymentId, view };
    await this.redis.publish(CHANNEL, JSON.stringify(update));
  }

  /**
   * Re-reads with `load` until `done` holds, a wake-up arrives for the payment, or the timeout passes;
   * answers the last value read. With `fromView`, a wake-up's view is turned into the value instead of
   * reading again (return undefined to read anyway). The waiter listens before its first read, and keeps
   * what arrives while it reads: a change committed just after a read is never left to the next poll. On
   * shutdown it answers at once with what it read last (the POS asks again, of another replica).
   */
  async waitFor<T>(
    paymentId: string,
    timeoutMs: number,
    load: () => Promise<T>,
    done: (value: T) => boolean,
    fromView?: (view: PaymentViewV1, current: T) => T | undefined,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    const waiter = new Waiter();
    const set = this.waiters.get(paymentId) ?? new Set<Waiter>();
    this.waiters.set(paymentId, set.add(waiter));
    try {
      let value: T = await load();
      while (!done(value) && !this.closing && Date.now() < deadline) {
        const view = await waiter.next(Math.min(POLL_MS, deadline - Date.now()));
        const taken = view && fromView ? fromView(view, value) : undefined;
        value = taken === undefined ? await load() : taken;
      }
      return value;
    } finally {
      set.delete(waiter);
      if (!set.size && this.waiters.get(paymentId) === set) this.waiters.delete(paymentId);
    }
  }

  private wake(paymentId: string, view?: PaymentViewV1): void {
    for (const waiter of this.waiters.get(paymentId) ?? []) waiter.take(view);
  }
}

/** One waiting request's wake-ups, kept in arrival order until it asks for them. */
class Waiter {
  private readonly arrived: Array<PaymentViewV1 | undefined> = [];
  private notify?: () => void;

  take(view: PaymentViewV1 | undefined): void {
    this.arrived.push(view);
    this.notify?.();
  }

  /** The next wake-up's view (undefined for one without a view, or when `ms` passed without any). */
  async next(ms: number): Promise<PaymentViewV1 | undefined> {
    if (!this.arrived.length) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.notify = undefined;
    }
    return this.arrived.shift();
  }
}

/** how often a waiter reads the database when no wake-up came */
const POLL_MS = 5000;

/** An update, or a bare payment id (what replicas of the previous release publish, during a rolling deploy). */
function parseUpdate(message: string): { paymentId: string; view?: PaymentViewV1 } | undefined {
  if (!message.startsWith('{')) return message ? { paymentId: message } : undefined;
  try {
    const update = JSON.parse(message) as Partial<Update>;
    return typeof update.paymentId === 'string' && typeof update.view?.sequence === 'number' ? (update as Update) : undefined;
  } catch {
    return undefined;
  }
}
