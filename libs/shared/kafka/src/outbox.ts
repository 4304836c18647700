import type { Producer } from 'kafkajs';
import type { Client } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { Envelope, parseMessage } from '@upm/contracts';
import { PlatformClient, prepared } from '@upm/shared-database';
import type { Logger, Metrics } from '@upm/shared-observability';
import { OUTBOX_CHANNEL } from './migrations';
import { currentTraceHeaders } from './tracing';

/** pg advisory lock id: one relay publishes at a time, so messages of one key leave in the order they were written */
const RELAY_LOCK = 7_346_112_901;

/**
 * A relay pass: deletes the rows the previous pass sent and takes the next ones after the floor (see
 * `moveFloor`). The rows just sent are still visible to the statement's own SELECT, hence excluded; a row with
 * a lower seq that committed after them, above the floor, is taken now.
 */
const PASS = prepared(
  `WITH sent AS (DELETE FROM outbox WHERE seq = ANY($1::bigint[]))
   SELECT seq, topic, key, payload, headers, created_at FROM outbox WHERE seq > $3::bigint AND seq <> ALL($1::bigint[]) ORDER BY seq LIMIT $2`,
);

/** The relay's pass and its parameters, for tools/outbox-scan.ts, which measures what a pass costs. */
export const OUTBOX_PASS = {
  text: PASS,
  parameters: (pass: { sent: string[]; limit: number; floor?: string }): unknown[] => [pass.sent, pass.limit, pass.floor ?? '0'],
};

/**
 * The transactions that may still write outbox rows with a seq already handed out: every transaction that
 * inserts into the outbox holds ROW EXCLUSIVE on it from before its seq is drawn until it ends. The relay's
 * own session (which deletes) is left out.
 */
const OUTBOX_WRITERS = prepared(
  `SELECT virtualtransaction AS writer FROM pg_locks
   WHERE locktype = 'relation' AND relation = 'outbox'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
);
/** the last seq drawn, and how many values a session draws at once (the sequence's CACHE) */
const LAST_SEQ = prepared(
  `SELECT pg_sequence_last_value(s.seqrelid)::text AS seq, s.seqcache::int AS cache
   FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence('outbox', 'seq')::regclass`,
);

/** how often the relay tries to move its floor up: a pass walks the rows deleted since, which vacuum may not have removed */
const FLOOR_CHECK_MS = 250;

/**
 * Bytes of message values one pass sends at most (though always its first message): Kafka refuses a
 * partition's batch over 1 MB by default (`message.max.bytes`), all of a pass's messages may share one
 * partition, and a pass the broker refuses would be tried again for ever with every later row behind it.
 */
const PASS_BYTES = 512 * 1024;

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
 * round trip and no explicit transaction. Answers whether the write returned a row. Its messages are
 * written at once, also inside `collectOutbox`: a handler writes each key's messages one way only, or they
 * could leave out of order.
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

/**
 * The rows of `envelopes`, each checked against its topic's contract first: a message its consumers would
 * dead-letter fails the write that causes it (ContractViolation), so nothing waits for a message that never comes.
 */
function outboxRows(topic: string, envelopes: Envelope[]): OutboxValues[] {
  const headers = currentTraceHeaders();
  return envelopes.map((envelope): OutboxValues => {
    const payload = JSON.stringify(envelope);
    // checked as its consumers will read it
    parseMessage(topic, JSON.parse(payload));
    return [envelope.id, topic, envelope.key, envelope.type, payload, JSON.stringify({ ...headers, 'message-type': envelope.type })];
  });
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
  /** a pass taking longer ends the relay's session, and with it the lock (default 30 s) */
  statementTimeoutMs?: number;
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
 * One replica's relay publishes at a time: it holds a session advisory lock on its own connection, which
 * also LISTENs for new rows and runs every pass. A pass is one statement, outside any transaction: it
 * deletes the rows the previous pass sent and takes the next ones; the relay then sends those. No
 * transaction stays open while Kafka answers, and a busy relay costs one statement per batch.
 * A crash between sending and the next pass publishes the rows again from the next leader: consumers
 * dedupe on the envelope id, so delivery is at-least-once and the effect exactly-once. If the connection
 * drops, the lock goes with it and the relay reconnects before it sends anything more.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private pending = false;
  private connection?: Client;
  /** whether this relay holds the lock: only the leader publishes and reports the backlog and its age */
  private leader = false;
  /** seqs of the rows sent and not yet deleted; the next pass deletes them */
  private sent: string[] = [];
  /** the last pass left rows behind (a full batch, or one cut at PASS_BYTES): the next goes at once */
  private behind = false;
  /** every row up to this seq was sent or will never commit: a pass reads only the rows after it (see `moveFloor`) */
  private floor = '0';
  /** the seq the floor moves to once the writers that held the outbox when it was drawn have ended */
  private next?: { seq: string; writers: string[]; ended: boolean };
  private floorCheckedAt = 0;
  private cachingWarned = false;
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

  /** the seq after which a pass reads (see `checkFloor`): every row up to it was sent or will never commit */
  get floorSeq(): string {
    return this.floor;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connect();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    await this.drain();
    await this.forget(this.connection);
    this.oldestAge.set(0);
    this.backlog.set(0);
  }

  /**
   * Last passes on shutdown: what the stopped consumers wrote leaves now, not when a replica next polls. It
   * stops at the first pass that leaves nothing behind (other replicas may go on writing), and deletes what it sent.
   */
  private async drain(): Promise<void> {
    try {
      do await this.publishBatch();
      while (this.behind);
      if (this.connection && this.leader && this.sent.length) {
        await this.query(this.connection, 'DELETE FROM outbox WHERE seq = ANY($1::bigint[])', [this.sent]);
        this.sent = [];
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox not drained on shutdown; the next relay publishes it');
    }
  }

  /** Wakes the relay now instead of at the next poll. */
  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Publishes one batch if this relay is (or becomes) the leader; returns how many rows it sent. */
  async publishBatch(): Promise<number> {
    this.behind = false;
    const connection = await this.connect();
    if (!this.leader) this.leader = (await this.query<{ locked: boolean }>(connection, 'SELECT pg_try_advisory_lock($1) AS locked', [RELAY_LOCK]))[0].locked;
    if (!this.leader) {
      // another replica publishes and reports; a stale age here would raise a false alert after a leader change
      this.oldestAge.set(0);
      this.backlog.set(0);
      return 0;
    }
    const batchSize = this.options.batchSize ?? 500;
    await this.checkFloor(connection);
    const read = await this.query<OutboxRecord>(connection, PASS, OUTBOX_PASS.parameters({ sent: this.sent, limit: batchSize, floor: this.floor }));
    this.sent = [];
    this.oldestAge.set(read.length ? (Date.now() - new Date(read[0].created_at).getTime()) / 1000 : 0);
    // rows past the byte budget are read again by the next pass, which follows at once
    const rows = withinBytes(read, PASS_BYTES);
    this.behind = read.length >= batchSize || rows.length < read.length;
    if (rows.length) await this.producer.sendBatch({ acks: -1, topicMessages: groupByTopic(rows, this.options.topicPrefix) });
    // only once Kafka has them: rows of a failed send stay above the floor, and the next pass sends them before later rows of their keys
    this.moveFloor(rows.length ? rows[rows.length - 1].seq : undefined);
    if (!rows.length) return 0;
    this.sent = rows.map((row) => row.seq);
    for (const row of rows) this.published.inc({ topic: row.topic });
    return rows.length;
  }

  /**
   * The deleted rows stay in the table and its index until vacuum removes them, which it cannot while any
   * transaction in the database is older than they are (a report ingestion, an export, a session left idle in
   * a transaction). A pass that read from the first seq would walk every row sent since, each time. So a pass
   * reads only after a floor: a seq up to which every row was sent or will never commit.
   *
   * A seq is drawn when its row is inserted, so a row with a lower seq than rows already sent may still
   * commit, and the floor may pass a seq only once its transaction ended. Every outbox writer holds ROW
   * EXCLUSIVE on the table from before it draws a seq until it ends; so every quarter second (at most), the relay
   * notes the last seq drawn, then the transactions holding that lock, and once none of them holds it any
   * more, every row up to that seq is committed or never will be. The first pass after that reads from the
   * old floor and sees them all; the floor then moves up to that seq, as far as the pass took every row.
   * Only an outbox writer that stays open holds the floor back (at its first row); other long transactions
   * do not. This needs the seq sequence to hand out one value at a time, as it does (no CACHE): a session
   * caching values draws them before it holds the lock, so while the sequence caches, the floor stays where it
   * is and every pass reads from it, as slow as that is.
   */
  private async checkFloor(connection: Client): Promise<void> {
    if (Date.now() - this.floorCheckedAt < FLOOR_CHECK_MS) return;
    this.floorCheckedAt = Date.now();
    if (!this.next) {
      const [{ seq, cache }] = await this.query<{ seq: string | null; cache: number }>(connection, LAST_SEQ, []);
      if (cache > 1) return this.warnCaching(cache);
      if (seq === null || BigInt(seq) <= BigInt(this.floor)) return;
      // the seq first, then who writes: a writer that drew a seq up to it is either done by now or listed
      const writers = (await this.query<{ writer: string }>(connection, OUTBOX_WRITERS, [])).map((row) => row.writer);
      this.next = { seq, writers, ended: !writers.length };
      return;
    }
    if (this.next.ended) return;
    const still = (await this.query<{ writer: string }>(connection, OUTBOX_WRITERS, [])).some((row) => this.next!.writers.includes(row.writer));
    this.next.ended = !still;
  }

  private warnCaching(cache: number): void {
    if (this.cachingWarned) return;
    this.cachingWarned = true;
    this.logger.error({ cache }, 'the outbox seq sequence caches values (ALTER SEQUENCE ... CACHE 1 to fix it): each relay pass reads every row left for vacuum');
  }

  /**
   * After a pass that read with every writer of `next` ended: every row up to its seq was visible to the pass,
   * so the floor moves up to it, or to the last row the pass took when it left rows behind.
   */
  private moveFloor(lastTaken: string | undefined): void {
    if (!this.next?.ended) return;
    const target = BigInt(this.next.seq);
    // a pass that left rows behind took at least one, and every row before the last one it took
    const taken = this.behind && lastTaken !== undefined ? BigInt(lastTaken) : target;
    const reached = taken < target ? taken : target;
    if (reached > BigInt(this.floor)) this.floor = reached.toString();
    if (reached >= target) this.next = undefined;
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
        // rows pile up while Kafka refuses them: the backlog says so (when the database answers)
        await this.refreshBacklog().catch(() => undefined);
        await this.sleep(1000);
        continue;
      }
      // What a pass sent is deleted by the next one: the next wake-up's under load, the poll's when idle.
      if ((published && this.behind) || this.pending) continue;
      await this.sleep(pollMs);
    }
  }

  private async connect(): Promise<Client> {
    if (this.connection) return this.connection;
    // The session holds the lock for as long as it lives, so it must not outlive a stuck statement or a lost
    // peer: the server cancels a pass past the timeout, the client gives up shortly after, and keepalives on
    // both ends end a session whose other side went silent within about a minute.
    const timeoutMs = this.options.statementTimeoutMs ?? 30_000;
    const connection: Client = new PlatformClient({
      connectionString: this.options.databaseUrl, application_name: 'outbox-relay',
      statement_timeout: timeoutMs, query_timeout: timeoutMs + 5000, keepAlive: true, keepAliveInitialDelayMillis: 10_000,
    });
    // Only the leader acts on a commit's NOTIFY; the others try for the lock on their poll, so replicas that
    // stand by cost nothing per commit.
    connection.on('notification', () => {
      if (this.leader) this.kick();
    });
    connection.on('error', (error) => {
      this.logger.warn({ err: error }, 'outbox relay connection failed; reconnecting');
      void this.forget(connection);
    });
    try {
      await connection.connect();
      await connection.query(`SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3; LISTEN ${OUTBOX_CHANNEL}`);
    } catch (error) {
      await connection.end().catch(() => undefined);
      throw error;
    }
    this.connection = connection;
    return connection;
  }

  /** A statement on the relay's connection; a failed one drops the connection, and the lock with it. */
  private async query<T>(connection: Client, sql: string, parameters: unknown[]): Promise<T[]> {
    try {
      return (await connection.query(sql, parameters)).rows as T[];
    } catch (error) {
      void this.forget(connection);
      throw error;
    }
  }

  /** Closes the relay's connection, if it is still the current one; the lock goes with it. */
  private async forget(connection: Client | undefined): Promise<void> {
    if (!connection || this.connection !== connection) return;
    this.connection = undefined;
    this.leader = false;
    // a new session starts from the first row: what was sent and not deleted may be sent again
    this.floor = '0';
    this.next = undefined;
    await connection.end().catch(() => undefined);
  }

  private async refreshBacklog(): Promise<void> {
    if (!this.leader) return;
    const [{ count }] = await this.dataSource.query('SELECT count(*)::int AS count FROM outbox WHERE seq > $1::bigint', [this.floor]);
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

/** The first rows whose message values together stay within `bytes`, and at least the first; each with its value. */
function withinBytes(rows: readonly OutboxRecord[], bytes: number): Array<OutboxRecord & { value: string }> {
  const taken: Array<OutboxRecord & { value: string }> = [];
  let total = 0;
  for (const row of rows) {
    const value = JSON.stringify(row.payload);
    total += Buffer.byteLength(value);
    if (taken.length && total > bytes) break;
    taken.push({ ...row, value });
  }
  return taken;
}

/** Keeps the written order inside each topic; kafkajs keeps it per partition, and a key maps to one partition. */
function groupByTopic(rows: ReadonlyArray<OutboxRecord & { value: string }>, prefix: string) {
  const byTopic = new Map<string, Array<{ key: string; value: string; headers: Record<string, string> }>>();
  for (const row of rows) {
    const topic = prefix + row.topic;
    const messages = byTopic.get(topic) ?? [];
    messages.push({ key: row.key, value: row.value, headers: row.headers });
    byTopic.set(topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
