import { Client } from 'pg';
import type { Producer } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import type { Envelope } from '@upm/contracts';
import type { Logger, Metrics } from '@upm/shared-observability';
import { OUTBOX_CHANNEL } from './migrations';
import { currentTraceHeaders } from './tracing';

/** pg advisory lock id: one relay publishes at a time, so messages of one key leave in the order they were written */
const RELAY_LOCK = 7_346_112_901;

type OutboxValues = [id: string, topic: string, key: string, type: string, payload: string, headers: string];

/** Transactions whose outbox rows are being collected into one insert (a consumer batch's). */
const collecting = new WeakMap<EntityManager, OutboxValues[]>();

/**
 * Appends messages to the outbox inside the caller's transaction, in one statement. They are published
 * only if that transaction commits; the NOTIFY that wakes the relay (sent by a trigger on the table) is
 * delivered on commit too. Inside `collectOutbox`, the rows are written when its work is done instead,
 * still in this transaction and in the order they were appended.
 */
export async function appendToOutbox(manager: EntityManager, topic: string, ...envelopes: Envelope[]): Promise<void> {
  if (!envelopes.length) return;
  const rows = outboxRows(topic, envelopes);
  const pending = collecting.get(manager);
  if (pending) pending.push(...rows);
  else await insertOutboxRows(manager, rows);
}

/**
 * Runs one write (`sql`, an INSERT or UPDATE … RETURNING) and, only if it returned a row, appends `envelopes`
 * to the outbox, in a single statement: atomic on its own, so a write and the messages it causes cost one
 * round trip and no explicit transaction. Answers whether the write returned a row.
 */
export async function writeWithOutbox(db: DataSource | EntityManager, sql: string, parameters: unknown[], topic: string, ...envelopes: [Envelope, ...Envelope[]]): Promise<boolean> {
  const rows = outboxRows(topic, envelopes);
  const [{ wrote }]: Array<{ wrote: boolean }> = await db.query(
    `WITH written AS (${sql}), appended AS (
       INSERT INTO outbox (id, topic, key, type, payload, headers)
       SELECT * FROM (VALUES ${outboxPlaceholders(rows.length, parameters.length)}) AS v(id, topic, key, type, payload, headers) WHERE EXISTS (SELECT 1 FROM written)
     )
     SELECT EXISTS (SELECT 1 FROM written) AS wrote`,
    [...parameters, ...rows.flat()],
  );
  return wrote;
}

function outboxRows(topic: string, envelopes: Envelope[]): OutboxValues[] {
  const headers = currentTraceHeaders();
  return envelopes.map((envelope): OutboxValues => [
    envelope.id, topic, envelope.key, envelope.type, JSON.stringify(envelope), JSON.stringify({ ...headers, 'message-type': envelope.type }),
  ]);
}

/**
 * Runs `work` with the outbox rows it appends through `manager` collected, then writes them all in one
 * insert: a batch of messages applied in one transaction costs one outbox statement, not one per message.
 */
export async function collectOutbox<T>(manager: EntityManager, work: () => Promise<T>): Promise<T> {
  const pending: OutboxValues[] = [];
  collecting.set(manager, pending);
  try {
    const result = await work();
    await insertOutboxRows(manager, pending);
    return result;
  } finally {
    collecting.delete(manager);
  }
}

/** rows per insert, well under PostgreSQL's 65,535 parameters per statement */
const ROWS_PER_INSERT = 1000;

async function insertOutboxRows(manager: EntityManager, rows: OutboxValues[]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    const chunk = rows.slice(start, start + ROWS_PER_INSERT);
    await manager.query(`INSERT INTO outbox (id, topic, key, type, payload, headers) VALUES ${outboxPlaceholders(chunk.length)}`, chunk.flat());
  }
}

/** `($1::uuid, $2, …, $6::jsonb), …` for `count` outbox rows whose parameters start after `offset` others */
function outboxPlaceholders(count: number, offset = 0): string {
  return Array.from({ length: count }, (_, i) => {
    const o = offset + i * 6;
    return `($${o + 1}::uuid, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5}::jsonb, $${o + 6}::jsonb)`;
  }).join(', ');
}

export interface OutboxRelayOptions {
  topicPrefix: string;
  databaseUrl: string;
  batchSize?: number;
  /** fallback poll when no NOTIFY arrives (e.g. rows left by a process that died) */
  pollIntervalMs?: number;
}

interface OutboxRecord {
  seq: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: Record<string, string>;
  created_at: Date;
}

/**
 * Publishes outbox rows in the order they were written with an idempotent producer, then deletes them.
 * A crash between publishing and deleting publishes the rows again on restart: consumers dedupe on the
 * envelope id, so delivery is at-least-once and the effect exactly-once.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private pending = false;
  private listener?: Client;
  /** whether the last attempt held the relay lock: only the holder reports the backlog and its age */
  private holdsLock = false;
  private readonly backlog;
  private readonly oldestAge;
  private readonly published;

  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: Producer,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly options: OutboxRelayOptions,
  ) {
    this.backlog = metrics.gauge('outbox_backlog_messages', 'Outbox rows not yet published');
    this.oldestAge = metrics.gauge('outbox_oldest_age_seconds', 'Age of the oldest unpublished outbox row');
    this.published = metrics.counter('outbox_published_total', 'Outbox messages published', ['topic']);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.listener = new Client({ connectionString: this.options.databaseUrl, application_name: 'outbox-relay' });
    this.listener.on('notification', () => this.kick());
    this.listener.on('error', (error) => this.logger.warn({ err: error }, 'outbox listener connection failed; polling'));
    await this.listener.connect();
    await this.listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    await this.drain();
    await this.listener?.end().catch(() => undefined);
    this.holdsLock = false;
    this.oldestAge.set(0);
    this.backlog.set(0);
  }

  /** A last pass on shutdown: what the stopped consumers wrote leaves now, not when a replica next polls. */
  private async drain(): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    try {
      while ((await this.publishBatch()) >= batchSize);
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox not drained on shutdown; the next relay publishes it');
    }
  }

  /** Wakes the relay now instead of at the next poll. */
  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Publishes one batch; returns how many rows it published. */
  async publishBatch(): Promise<number> {
    const batchSize = this.options.batchSize ?? 500;
    return this.dataSource.transaction(async (manager) => {
      // Taken out and sent in one transaction: if the send fails, the rollback puts the rows back. Exactly the
      // rows sent are deleted: a row with a lower seq that commits meanwhile stays for the next batch. The
      // lock and the delete go in one statement; without the lock nothing is deleted.
      const taken: Array<OutboxRecord & { locked: boolean }> = await manager.query(
        `WITH lock AS (SELECT pg_try_advisory_xact_lock($1) AS locked),
              taken AS (DELETE FROM outbox WHERE (SELECT locked FROM lock) AND seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT $2)
                        RETURNING seq, topic, key, payload, headers, created_at)
         SELECT lock.locked, taken.* FROM lock LEFT JOIN taken ON true`,
        [RELAY_LOCK, batchSize],
      );
      const locked = Boolean(taken[0]?.locked);
      this.holdsLock = locked;
      if (!locked) {
        // another replica publishes and reports; a stale age here would raise a false alert after a leader change
        this.oldestAge.set(0);
        this.backlog.set(0);
        return 0;
      }
      const rows = taken.filter((row) => row.seq !== null);
      rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
      this.oldestAge.set(rows.length ? (Date.now() - new Date(rows[0].created_at).getTime()) / 1000 : 0);
      if (!rows.length) return 0;
      await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(rows, this.options.topicPrefix) });
      for (const row of rows) this.published.inc({ topic: row.topic });
      return rows.length;
    });
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollIntervalMs ?? 1000;
    while (this.running) {
      this.pending = false;
      let published = 0;
      try {
        published = await this.publishBatch();
        if (published === 0) await this.refreshBacklog();
      } catch (error) {
        this.logger.error({ err: error }, 'outbox relay failed; retrying');
        await this.sleep(1000);
        continue;
      }
      if (published >= (this.options.batchSize ?? 500) || this.pending) continue;
      await this.sleep(pollMs);
    }
  }

  private async refreshBacklog(): Promise<void> {
    if (!this.holdsLock) return;
    const [{ count }] = await this.dataSource.query('SELECT count(*)::int AS count FROM outbox');
    this.backlog.set(count);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
      if (this.pending || !this.running) done();
    });
  }
}

/** Keeps the written order inside each topic; kafkajs keeps it per partition, and a key maps to one partition. */
function groupByTopic(rows: OutboxRecord[], prefix: string) {
  const byTopic = new Map<string, Array<{ key: string; value: string; headers: Record<string, string> }>>();
  for (const row of rows) {
    const topic = prefix + row.topic;
    const messages = byTopic.get(topic) ?? [];
    messages.push({ key: row.key, value: JSON.stringify(row.payload), headers: row.headers });
    byTopic.set(topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
