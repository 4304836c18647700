import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { PaymentViewV1, RefundViewV1 } from '@upm/contracts';

const CHANNEL = 'gw:terminal-events';

export interface TerminalEvent {
  id: string;
  eventId: string;
  type: string;
  payment: PaymentViewV1;
  refund?: RefundViewV1;
}

/** A terminal's events after `afterId`, oldest first; another merchant's rows never match. */
export async function terminalEventsAfter(dataSource: DataSource, terminal: { terminalId: string; merchantId: string }, afterId: string, limit = 200): Promise<TerminalEvent[]> {
  const rows: Array<{ id: string; event_id: string; type: string; data: { payment: PaymentViewV1; refund?: RefundViewV1 } }> = await dataSource.query(
    'SELECT id, event_id, type, data FROM terminal_events WHERE terminal_id = $1 AND merchant_id = $2 AND id > $3 ORDER BY id LIMIT $4',
    [terminal.terminalId, terminal.merchantId, afterId, limit],
  );
  return rows.map((r) => ({ id: String(r.id), eventId: r.event_id, type: r.type, payment: r.data.payment, ...(r.data.refund ? { refund: r.data.refund } : {}) }));
}

export async function latestTerminalEventId(dataSource: DataSource, terminalId: string): Promise<string> {
  const [row]: Array<{ id: string | null }> = await dataSource.query('SELECT max(id) AS id FROM terminal_events WHERE terminal_id = $1', [terminalId]);
  return row?.id ? String(row.id) : '0';
}

/**
 * Wakes the streams of a terminal on every gateway replica when its events table grew. Only a wake-up:
 * streams also re-read on their own, so a lost message delays an event by at most that period.
 */
@Injectable()
export class TerminalEventsHub implements OnModuleInit, OnApplicationShutdown {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly closers = new Set<() => void>();
  private subscriber?: Redis;

  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, terminalId: string) => {
      for (const wake of [...(this.listeners.get(terminalId) ?? [])]) wake();
    });
    await this.subscriber.subscribe(CHANNEL);
  }

  /** Open streams would keep the HTTP server from closing; they end first, and POS clients reconnect elsewhere. */
  beforeApplicationShutdown(): void {
    for (const close of [...this.closers]) close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }

  async publish(terminalId: string): Promise<void> {
    await this.redis.publish(CHANNEL, terminalId);
  }

  /** Registers a stream; answers the function that unregisters it. */
  listen(terminalId: string, wake: () => void, close: () => void): () => void {
    const set = this.listeners.get(terminalId) ?? new Set<() => void>();
    this.listeners.set(terminalId, set);
    set.add(wake);
    this.closers.add(close);
    return () => {
      set.delete(wake);
      if (!set.size) this.listeners.delete(terminalId);
      this.closers.delete(close);
    };
  }

  /** How many streams of a terminal this replica serves. */
  streamCount(terminalId: string): number {
    return this.listeners.get(terminalId)?.size ?? 0;
  }
}
