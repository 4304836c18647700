import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';

const CHANNEL = 'gw:payment-updated';

/**
 * Tells every gateway replica that a payment's read model changed, so a POS request waiting on another
 * replica answers at once. Redis pub/sub is only a wake-up: waiters also re-read the database periodically,
 * so a lost notification delays an answer by at most that period and loses nothing.
 */
@Injectable()
export class PaymentUpdates implements OnModuleInit, OnApplicationShutdown {
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriber?: Redis;

  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, paymentId: string) => this.wake(paymentId));
    await this.subscriber.subscribe(CHANNEL);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of set) wake();
    await this.subscriber?.quit().catch(() => undefined);
  }

  async publish(paymentId: string): Promise<void> {
    await this.redis.publish(CHANNEL, paymentId);
  }

  /**
   * Re-reads with `load` until `done` holds, a wake-up arrives for the payment, or the timeout passes;
   * answers the last value read.
   */
  async waitFor<T>(paymentId: string, timeoutMs: number, load: () => Promise<T>, done: (value: T) => boolean, pollMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let value = await load();
    while (!done(value) && Date.now() < deadline) {
      await this.nextWake(paymentId, Math.min(pollMs, deadline - Date.now()));
      value = await load();
    }
    return value;
  }

  private nextWake(paymentId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(paymentId) ?? new Set<() => void>();
      this.waiters.set(paymentId, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (!set.size) this.waiters.delete(paymentId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  private wake(paymentId: string): void {
    for (const wake of [...(this.waiters.get(paymentId) ?? [])]) wake();
  }
}
