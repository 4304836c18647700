import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

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

/** Why the hub ends a stream: its terminal opened more than the cap of streams and it is the oldest, or the replica stops. */
export type StreamEnd = 'replaced' | 'shutdown';

/** An open stream as the hub sees it: woken when its terminal's events table grew, closed by the hub. */
export interface TerminalStream {
  wake(): void;
  close(why: StreamEnd): void;
}

const DEFAULT_STREAMS_PER_TERMINAL = 3;

/**
 * Wakes the streams of a terminal on every gateway replica when its events table grew. Only a wake-up:
 * streams also re-read on their own, so a lost message delays an event by at most that period.
 */
@Injectable()
export class TerminalEventsHub implements OnModuleInit, OnApplicationShutdown {
  /** each terminal's open streams on this replica, oldest first */
  private readonly streams = new Map<string, Set<TerminalStream>>();
  private readonly streamsPerTerminal: number;
  private subscriber?: Redis;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(GATEWAY_OPTIONS) options: GatewayOptions,
  ) {
    this.streamsPerTerminal = options.sseStreamsPerTerminal ?? DEFAULT_STREAMS_PER_TERMINAL;
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (_channel: string, terminalId: string) => {
      for (const stream of [...(this.streams.get(terminalId) ?? [])]) stream.wake();
    });
    await this.subscriber.subscribe(CHANNEL);
  }

  /** Open streams would keep the HTTP server from closing; they end first, and POS clients reconnect elsewhere. */
  beforeApplicationShutdown(): void {
    for (const streams of [...this.streams.values()]) for (const stream of [...streams]) stream.close('shutdown');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
  }

  async publish(terminalId: string): Promise<void> {
    await this.redis.publish(CHANNEL, terminalId);
  }

  /**
   * Registers a stream; answers the function that unregisters it. One stream more than the cap closes the
   * terminal's oldest rather than refusing the new one: a POS that reconnects after a network drop is never
   * locked out by its own half-dead earlier stream, and one that reconnects in a loop holds the cap at most.
   */
  listen(terminalId: string, stream: TerminalStream): () => void {
    const streams = this.streams.get(terminalId) ?? new Set<TerminalStream>();
    this.streams.set(terminalId, streams);
    streams.add(stream);
    while (streams.size > this.streamsPerTerminal) {
      const [oldest] = streams;
      streams.delete(oldest);
      oldest.close('replaced');
    }
    return () => {
      streams.delete(stream);
      // a replaced stream unregisters late, when its terminal may already have a new set
      if (!streams.size && this.streams.get(terminalId) === streams) this.streams.delete(terminalId);
    };
  }

  /** How many streams of a terminal this replica serves. */
  streamCount(terminalId: string): number {
    return this.streams.get(terminalId)?.size ?? 0;
  }
}
