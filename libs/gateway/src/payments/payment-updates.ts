import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
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
export class PaymentUpdates implements OnModuleInit, OnApplicationShutdown {
  private readonly waiters = new Map<string, Set<(view?: PaymentViewV1) => void>>();
  private subscriber?: Redis;

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

  async onApplicationShutdown(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of set) wake();
    await this.subscriber?.quit().catch(() => undefined);
  }

  async publish(view: PaymentViewV1): Promise<void> {
    const update: Update = { paymentId: view.paymentId, view };
    await this.redis.publish(CHANNEL, JSON.stringify(update));
  }

  /**
   * Re-reads with `load` until `done` holds, a wake-up arrives for the payment, or the timeout passes;
   * answers the last value read. With `fromView`, a wake-up's view is turned into the value instead of
   * reading again (return undefined to read anyway).
   */
  async waitFor<T>(
    paymentId: string,
    timeoutMs: number,
    load: () => Promise<T>,
    done: (value: T) => boolean,
    fromView?: (view: PaymentViewV1, current: T) => T | undefined,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let value: T = await load();
    while (!done(value) && Date.now() < deadline) {
      const view = await this.nextWake(paymentId, Math.min(POLL_MS, deadline - Date.now()));
      const taken = view && fromView ? fromView(view, value) : undefined;
      value = taken === undefined ? await load() : taken;
    }
    return value;
  }

  private nextWake(paymentId: string, ms: number): Promise<PaymentViewV1 | undefined> {
    return new Promise((resolve) => {
      const set = this.waiters.get(paymentId) ?? new Set<(view?: PaymentViewV1) => void>();
      this.waiters.set(paymentId, set);
      const wake = (view?: PaymentViewV1) => {
        clearTimeout(timer);
        set.delete(wake);
        if (!set.size) this.waiters.delete(paymentId);
        resolve(view);
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  private wake(paymentId: string, view?: PaymentViewV1): void {
    for (const wake of [...(this.waiters.get(paymentId) ?? [])]) wake(view);
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
