import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import type { PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import type { Logger } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { DEFAULT_SSE_HEARTBEAT_MS, GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { RegistryService, TerminalContext } from '../registry/registry.service';

const CHANNEL = 'gw:terminal-events';
/** the leases a replica's open could not keep under the cap: the replica holding each closes its stream */
const REPLACED_CHANNEL = 'gw:terminal-streams:replaced';
/** a terminal's open streams on every replica: one sorted set per terminal (hash tag: one slot on a Redis Cluster) */
const leasesKey = (terminalId: string) => `gw:terminal-streams:{${terminalId}}`;

/**
 * Holds leases on a terminal's open streams and keeps them under the cap. KEYS[1] is the terminal's set: each
 * member a lease (`<opened at, ms, 15 digits>:<lease id>`, so sorting the members sorts them oldest first),
 * scored with when it lapses. ARGV: the lease in ms, the cap, the channel, then the leases to hold (to take
 * or renew; one the set lost, to a lapse while Redis was away or to a message of the channel that went
 * missing, is taken again and judged with the others). Drops the lapsed leases (a replica killed with
 * streams open), then the oldest over the cap, publishes each dropped one's id so that its replica closes
 * the stream, and answers the dropped ones. Redis' clock dates every lease: replicas' clocks may disagree.
 */
const HOLD = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lapses = now + tonumber(ARGV[1])
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], lapses, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZRANGE', KEYS[1], 0, -1)
if #held == 0 then return {} end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local over = #held - tonumber(ARGV[2])
if over <= 0 then return {} end
table.sort(held)
local dropped = {}
for i = 1, over do
  redis.call('ZREM', KEYS[1], held[i])
  redis.call('PUBLISH', ARGV[3], held[i])
  dropped[i] = held[i]
end
return dropped`;

/** the lease id in a member of a terminal's set */
const leaseId = (member: string) => member.slice(16);

/** a refusal's code and message, as a payment's failure carries them */
type Failure = NonNullable<PaymentViewV1['failure']>;

export interface TerminalEvent {
  id: string;
  eventId: string;
  type: string;
  payment: PaymentViewV1;
  refund?: RefundViewV1;
  /** why the orchestrator refused a cancel (PaymentCancelRefused) */
  failure?: Failure;
}

/** A read of a terminal's stream: its events after an id, and the newest of its events ever deleted ('0' for none). */
export interface TerminalEventsPage {
  events: TerminalEvent[];
  prunedThrough: string;
}

/**
 * A terminal's events after `afterId`, oldest first, and in the same snapshot the newest of its events the
 * retention deleted: when that is after `afterId`, events the POS has not seen are gone, and the page starts
 * after them. Another merchant's rows never match.
 */
export async function terminalEventsAfter(dataSource: DataSource, terminal: { terminalId: string; merchantId: string }, afterId: string, limit = 200): Promise<TerminalEventsPage> {
  const rows: Array<{ pruned_through: string; id: string | null; event_id: string; type: string; data: { payment: PaymentViewV1; refund?: RefundViewV1; failure?: Failure } }> = await dataSource.query(
    `SELECT h.pruned_through, e.id, e.event_id, e.type, e.data
       FROM (SELECT coalesce(max(pruned_through), 0) AS pruned_through FROM terminal_event_horizons WHERE terminal_id = $1) h
       LEFT JOIN LATERAL (
         SELECT id, event_id, type, data FROM terminal_events
          WHERE terminal_id = $1 AND merchant_id = $2 AND id > greatest($3::bigint, h.pruned_through) ORDER BY id LIMIT $4) e ON true
      ORDER BY e.id`,
    [terminal.terminalId, terminal.merchantId, afterId, limit],
  );
  return {
    prunedThrough: String(rows[0]?.pruned_through ?? '0'),
    events: rows.flatMap((r) =>
      r.id === null
        ? []
        : [{ id: String(r.id), eventId: r.event_id, type: r.type, payment: r.data.payment, ...(r.data.refund ? { refund: r.data.refund } : {}), ...(r.data.failure ? { failure: r.data.failure } : {}) }],
    ),
  };
}

/** Where a stream that starts now starts: after the terminal's newest event, kept or already deleted. */
export async function latestTerminalEventId(dataSource: DataSource, terminalId: string): Promise<string> {
  const [row]: Array<{ id: string }> = await dataSource.query(
    `SELECT greatest((SELECT max(id) FROM terminal_events WHERE terminal_id = $1), (SELECT pruned_through FROM terminal_event_horizons WHERE terminal_id = $1), 0) AS id`,
    [terminalId],
  );
  return String(row.id);
}

/** The newest event id of each terminal ('0' for one without events), one index lookup each, in one statement. */
export async function newestTerminalEventIds(dataSource: DataSource, terminalIds: readonly string[]): Promise<Map<string, string>> {
  const rows: Array<{ terminal_id: string; id: string | null }> = await dataSource.query(
    'SELECT t.terminal_id, (SELECT max(id) FROM terminal_events e WHERE e.terminal_id = t.terminal_id) AS id FROM unnest($1::text[]) AS t(terminal_id)',
    [terminalIds],
  );
  return new Map(rows.map((row) => [row.terminal_id, row.id === null ? '0' : String(row.id)]));
}

/**
 * What a replay for a terminal can be checked against: the newest event id this database ever gave ('0' before
 * the first; no stream sent an id above it), and the newest of the terminal's events the retention deleted.
 */
export async function replayHorizon(dataSource: DataSource, terminalId: string): Promise<{ issued: string; prunedThrough: string }> {
  const [row]: Array<{ issued: string; pruned_through: string }> = await dataSource.query(
    `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('terminal_events', 'id')), 0) AS issued,
            coalesce((SELECT pruned_through FROM terminal_event_horizons WHERE terminal_id = $1), 0) AS pruned_through`,
    [terminalId],
  );
  return { issued: String(row.issued), prunedThrough: String(row.pruned_through) };
}

/**
 * Why the hub ends a stream: its terminal opened more than the cap of streams and it is the oldest, the key it
 * was opened with was revoked or rotated since, or the replica stops.
 */
export type StreamEnd = 'replaced' | 'revoked' | 'shutdown';

/** An open stream as the hub sees it: woken when its terminal's events table grew, closed by the hub. */
export interface TerminalStream {
  /** the id of the last event it sent, or of the one it started after */
  position(): string;
  wake(): void;
  close(why: StreamEnd): void;
}

const DEFAULT_STREAMS_PER_TERMINAL = 3;
/** How long a stream's lease outlives the last renewal of its replica: one killed with streams open frees them within it. */
const DEFAULT_STREAM_LEASE_MS = 30_000;
/** How often the hub looks for events it was not woken for: a lost Redis message delays an event by at most this. */
const RECHECK_MS = 2000;

/**
 * Wakes the streams of a terminal on every gateway replica when its events table grew. Redis pub/sub drops
 * messages (a reconnect, a slow subscriber), so every two seconds the hub also reads the newest event id of
 * each terminal it serves, in one statement, and wakes the streams that are behind it: a lost message
 * delays an event by at most that period, and idle streams cost the database one statement per period per
 * replica, not one each.
 *
 * The cap on a terminal's streams holds across the replicas: each open stream holds a lease in Redis, in one
 * sorted set per terminal, taken as the stream registers (one command) and dropped as it ends (one command).
 * A stream over the cap replaces the terminal's oldest on whichever replica serves it: the replica that
 * opens it drops the oldest lease and publishes its id, and the replica holding that stream closes it. The
 * leases lapse unless renewed: every third of the lease period each replica renews all of its own, one
 * command per terminal it serves, so a replica killed with streams open frees them within a lease period.
 * Redis unavailable, each replica still caps the streams it serves itself, and the streams stay open: they
 * carry the terminal's payment results, and refusing them would cost the POS more than a few extra streams
 * cost the fleet for the length of the outage. The renewal after it takes the leases again and closes the
 * oldest over the cap.
 *
 * It also checks the keys the replica's streams were opened with, once per heartbeat period: a stream
 * outlives its request, and one opened with a key since revoked or rotated (a stolen or retired terminal)
 * must stop receiving the terminal's payments, as that key can no longer open a stream. All of the
 * replica's streams are checked together in one statement: tens of thousands of POS hold a stream open,
 * and one query per stream per period would load the database for nothing.
 */
@Injectable()
export class TerminalEventsHub implements OnModuleInit, OnApplicationShutdown {
  /** each terminal's open streams on this replica, oldest first, with the id of the key each was opened with */
  private readonly streams = new Map<string, Map<TerminalStream, string>>();
  /** the lease of each open stream of this replica (its member in its terminal's set), by lease id */
  private readonly leases = new Map<string, { terminalId: string; stream: TerminalStream; member: string }>();
  private readonly replicaId = randomUUID();
  private nextLease = 0;
  private readonly streamsPerTerminal: number;
  private readonly leaseMs: number;
  /** runs only while a stream is open */
  private renewal?: NodeJS.Timeout;
  private renewing = false;
  private readonly keyCheckMs: number;
  /** runs only while a stream is open */
  private keyCheck?: NodeJS.Timeout;
  private checkingKeys = false;
  /** runs only while a stream is open */
  private recheck?: NodeJS.Timeout;
  private rechecking = false;
  private subscriber?: Redis;
  /** set once the replica stops: a stream that registers after that is ended at once */
  private stopping = false;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(Redis) private readonly redis: Redis,
    private readonly registry: RegistryService,
    @Inject(GATEWAY_OPTIONS) options: GatewayOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.streamsPerTerminal = options.sseStreamsPerTerminal ?? DEFAULT_STREAMS_PER_TERMINAL;
    this.keyCheckMs = options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;
    this.leaseMs = options.sseStreamLeaseMs ?? DEFAULT_STREAM_LEASE_MS;
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) this.wake(message);
      else this.replaced([message]);
    });
    await this.subscriber.subscribe(CHANNEL, REPLACED_CHANNEL);
  }

  /**
   * Open streams would keep the HTTP server from closing; they end first, and POS clients reconnect elsewhere.
   * So does one opened later, by a request on a connection kept alive: it is ended as it registers. Their
   * leases are dropped at once, one command per terminal, rather than lapse a lease period later.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    // given back here, all together: neither a renewal nor a stream that ends late takes or drops them again
    const held = this.heldLeases();
    this.leases.clear();
    for (const streams of [...this.streams.values()]) for (const stream of [...streams.keys()]) stream.close('shutdown');
    await Promise.all(
      [...held].map(([terminalId, members]) =>
        this.redis.zrem(leasesKey(terminalId), ...members).catch((error: unknown) => {
          this.logger.warn({ err: error, terminalId }, 'could not drop the leases of the terminal event streams closed at shutdown; they lapse within the lease period');
        }),
      ),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopTimers();
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
  listen(terminal: Pick<TerminalContext, 'terminalId' | 'keyId'>, stream: TerminalStream): () => void {
    const { terminalId } = terminal;
    const streams = this.streams.get(terminalId) ?? new Map<TerminalStream, string>();
    this.streams.set(terminalId, streams);
    streams.set(stream, terminal.keyId);
    while (streams.size > this.streamsPerTerminal) {
      const [oldest] = streams.keys();
      streams.delete(oldest);
      oldest.close('replaced');
    }
    // two streams of one replica opened in the same millisecond sort by their order; of two replicas, in no order
    const lease = `${this.replicaId}.${String(++this.nextLease).padStart(12, '0')}`;
    const member = `${String(Date.now()).padStart(15, '0')}:${lease}`;
    if (this.stopping) stream.close('shutdown');
    else {
      this.startTimers();
      this.leases.set(lease, { terminalId, stream, member });
      void this.hold(terminalId, [member]);
    }
    return () => {
      if (this.leases.delete(lease)) {
        this.redis.zrem(leasesKey(terminalId), member).catch((error: unknown) => {
          this.logger.warn({ err: error, terminalId }, 'could not drop the lease of a closed terminal event stream; it lapses within the lease period');
        });
      }
      streams.delete(stream);
      // a replaced stream unregisters late, when its terminal may already have a new set
      if (!streams.size && this.streams.get(terminalId) === streams) this.streams.delete(terminalId);
      if (!this.streams.size) this.stopTimers();
    };
  }

  /** How many streams of a terminal this replica serves; without a terminal, how many it serves in all. */
  streamCount(terminalId?: string): number {
    if (terminalId === undefined) return [...this.streams.values()].reduce((sum, streams) => sum + streams.size, 0);
    return this.streams.get(terminalId)?.size ?? 0;
  }

  /** How many streams of a terminal are open on all the replicas together: the leases in Redis that have not lapsed. */
  async fleetStreamCount(terminalId: string): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return this.redis.zcount(leasesKey(terminalId), `(${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)}`, '+inf');
  }

  /**
   * Renews the leases of all the replica's open streams, one command per terminal (sent together), and
   * closes those of its streams that are over their terminal's cap now.
   */
  async renewLeases(): Promise<void> {
    if (this.renewing || !this.leases.size) return;
    this.renewing = true;
    try {
      await Promise.all([...this.heldLeases()].map(([terminalId, members]) => this.hold(terminalId, members)));
    } finally {
      this.renewing = false;
    }
  }

  /**
   * Ends every open stream whose key no longer opens its terminal, with one statement for all of them. Only
   * the streams open when the statement is sent are judged by its answer: one opened meanwhile may hold a key
   * issued after the statement's snapshot.
   */
  async checkKeys(): Promise<void> {
    if (this.checkingKeys || !this.streams.size) return;
    this.checkingKeys = true;
    try {
      const opened = [...this.streams].flatMap(([terminalId, streams]) => [...streams].map(([stream, keyId]) => ({ terminalId, keyId, stream })));
      const activeKeys = await this.registry.activeKeys([...this.streams.keys()]);
      for (const { terminalId, keyId, stream } of opened) {
        if (activeKeys.get(terminalId) !== keyId && this.streams.get(terminalId)?.has(stream)) stream.close('revoked');
      }
    } catch (error) {
      // a database that does not answer says nothing about the keys: the streams stay open until it does
      this.logger.warn({ err: error }, 'could not check the keys of the open terminal event streams; checking again next period');
    } finally {
      this.checkingKeys = false;
    }
  }

  /** Wakes every open stream that is behind its terminal's newest event, with one statement for all of them. */
  async wakeBehind(): Promise<void> {
    if (this.rechecking || !this.streams.size) return;
    this.rechecking = true;
    try {
      const newest = await newestTerminalEventIds(this.dataSource, [...this.streams.keys()]);
      for (const [terminalId, id] of newest) {
        for (const stream of [...(this.streams.get(terminalId)?.keys() ?? [])]) if (BigInt(id) > BigInt(stream.position())) stream.wake();
      }
    } catch (error) {
      // the streams are only late: Redis still wakes them, and the next period reads again
      this.logger.warn({ err: error }, 'could not look for events of the open terminal event streams; looking again next period');
    } finally {
      this.rechecking = false;
    }
  }

  /** Takes or renews leases of a terminal's streams and closes this replica's streams whose leases were over the cap. */
  private async hold(terminalId: string, members: string[]): Promise<void> {
    try {
      const dropped = (await this.redis.eval(HOLD, 1, leasesKey(terminalId), String(this.leaseMs), String(this.streamsPerTerminal), REPLACED_CHANNEL, ...members)) as string[];
      this.replaced(dropped);
    } catch (error) {
      // fail open: the replica's own cap still holds, and the next renewal takes the leases again
      this.logger.warn({ err: error, terminalId }, 'could not hold the leases of terminal event streams in Redis; each replica caps its own streams until it can');
    }
  }

  /** Closes the streams of this replica whose leases were dropped over their terminal's cap; ignores other replicas' leases. */
  private replaced(members: string[]): void {
    for (const member of members) {
      const lease = this.leases.get(leaseId(member));
      if (lease && this.streams.get(lease.terminalId)?.has(lease.stream)) lease.stream.close('replaced');
    }
  }

  /** the replica's leases by terminal */
  private heldLeases(): Map<string, string[]> {
    const held = new Map<string, string[]>();
    for (const { terminalId, member } of this.leases.values()) {
      const members = held.get(terminalId);
      if (members) members.push(member);
      else held.set(terminalId, [member]);
    }
    return held;
  }

  private wake(terminalId: string): void {
    for (const stream of [...(this.streams.get(terminalId)?.keys() ?? [])]) stream.wake();
  }

  private startTimers(): void {
    if (this.keyCheck) return;
    this.keyCheck = setInterval(() => void this.checkKeys(), this.keyCheckMs);
    this.recheck = setInterval(() => void this.wakeBehind(), RECHECK_MS);
    this.renewal = setInterval(() => void this.renewLeases(), Math.max(1, Math.floor(this.leaseMs / 3)));
    // the timers follow the streams; they never keep a process that is stopping alive
    this.keyCheck.unref();
    this.recheck.unref();
    this.renewal.unref();
  }

  private stopTimers(): void {
    clearInterval(this.keyCheck);
    clearInterval(this.recheck);
    clearInterval(this.renewal);
    this.keyCheck = this.recheck = this.renewal = undefined;
  }
}
