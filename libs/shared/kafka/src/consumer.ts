import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { ContractViolation, deadLetterTopic, Envelope, parseMessage, retryTopic } from '@upm/contracts';
import { prepared } from '@upm/shared-database';
import type { Logger, Metrics } from '@upm/shared-observability';
import { isDatabaseUnavailable } from '@upm/shared-runtime';
import { KeyedLane } from './keyed-lane';
import { OffsetCommits } from './offset-commits';
import { collectOutbox } from './outbox';
import { withConsumerSpan } from './tracing';
import { transactionSlots } from './transaction-slots';

/** Records envelope ids as applied by a group; returns the ids that were not recorded yet. */
const INBOX_INSERT = prepared(
  'INSERT INTO inbox (consumer_group, message_id, topic) SELECT $1, id, $3 FROM unnest($2::text[]) AS id ON CONFLICT DO NOTHING RETURNING message_id',
);
const INBOX_APPLIED = prepared('SELECT message_id FROM inbox WHERE consumer_group = $1 AND message_id = ANY($2::text[])');
/** Which of these keys a message waits for in the retry topic (see `sendToRetry`). */
const PARKED = prepared('SELECT key FROM parked_keys WHERE consumer_group = $1 AND key = ANY($2::text[])');
const PARK = prepared(
  'INSERT INTO parked_keys (consumer_group, key, last_message_id) VALUES ($1, $2, $3) ON CONFLICT (consumer_group, key) DO UPDATE SET last_message_id = EXCLUDED.last_message_id',
);
const UNPARK = prepared('DELETE FROM parked_keys WHERE consumer_group = $1 AND key = $2 AND last_message_id = $3');

/** What a keyed lane's `prepare` step throws for a message whose key is parked: the lane holds the message (see `hold`) without preparing it. */
class KeyParked extends Error {
  constructor() {
    super('its key is parked');
    this.name = 'KeyParked';
  }
}

/** An error that no retry can fix: the message goes straight to the dead-letter topic (as when a handler writes a message breaking its contract). */
export class PermanentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

export interface MessageContext {
  /** the transaction that also records the message as processed: write effects and outbox rows through it */
  manager: EntityManager;
  topic: string;
  partition: number;
  offset: string;
  attempt: number;
  /** what `prepare` returned for this message (undefined without one) */
  prepared?: unknown;
}

export type MessageHandler = (envelope: Envelope, context: MessageContext) => Promise<void>;

/** Handles every new message of one transaction at once, in offset order per key (a batch, or one message applied on its own). */
export type BatchHandler = (envelopes: Envelope[], manager: EntityManager) => Promise<void>;

/**
 * How a consumer applies its messages: `handle` one by one (each in its span, with `prepare`'s result), or
 * `handleBatch` all of a transaction's together, for handlers whose reads and writes take one statement for
 * the whole batch.
 */
export type ConsumerOptions = ConsumerSettings & ({ handle: MessageHandler; handleBatch?: never } | { handleBatch: BatchHandler; handle?: never; prepare?: never });

export interface ConsumerSettings {
  groupId: string;
  /** the logical topic (without prefix) */
  topic: string;
  /**
   * Slow work (a call to another system) done before the transaction opens, so no database connection is
   * held while it waits; its result reaches `handle` as `context.prepared`. It runs again on redelivery,
   * so it must be safe to repeat (idempotent at the other end); a message already applied skips it, and so
   * does one whose key is parked (held behind its key's message in the retry topic, see `intake`). Such
   * a consumer applies each message as soon as it is prepared (see KeyedLane): a slow call holds up the
   * later messages of its key, not its partition.
   */
  prepare?: (envelope: Envelope) => Promise<unknown>;
  /**
   * Wraps the handlers of one transaction (a batch, or a message applied on its own) and receives every
   * message about to be handled in it, in order, so a handler can read what the whole batch needs with one
   * statement and write it with one at the end, e.g. lock and store every saga of the batch at once.
   */
  withBatch?: <T>(envelopes: Envelope[], manager: EntityManager, handleAll: () => Promise<T>) => Promise<T>;
  /**
   * The message types this group applies, when it applies only some of its topic's: a message of another type
   * is passed over as it is read, before its contract is checked, with no transaction and no inbox row (its
   * offset is committed with the others'). Every type when absent.
   */
  types?: ReadonlySet<string>;
  /** back-off before each try of a failed message from the retry topic; after the last one, the dead-letter topic */
  retryDelaysMs?: number[];
  partitionsConsumedConcurrently?: number;
  /** how long the group waits for a silent member before giving its partitions to another (Kafka's minimum is 6 s) */
  sessionTimeoutMs?: number;
  /** called after a message's transaction committed (applied=false for a duplicate), before its offset is committed */
  onProcessed?: (envelope: Envelope, applied: boolean) => void;
  /** how often settled offsets are committed (default 1 s); a member that dies redelivers at most this much, which the inbox absorbs */
  commitIntervalMs?: number;
}

const H = {
  attempt: 'x-attempt',
  notBefore: 'x-not-before',
  group: 'x-retry-group',
  errorCode: 'x-error-code',
  errorMessage: 'x-error-message',
  originalTopic: 'x-original-topic',
  originalPartition: 'x-original-partition',
  originalOffset: 'x-original-offset',
  failedAt: 'x-failed-at',
} as const;

/** batches a partition's lane may hold before the partition is paused until it drains */
const LANE_DEPTH = 4;
/**
 * The same for a keyed lane, whose batches stay queued while any of their calls is under way: a few calls
 * Alipay leaves unanswered must not pause the partition, or its other payments would wait for them again.
 */
const KEYED_LANE_DEPTH = 64;
/**
 * How long the broker holds a fetch that finds no data (kafkajs's default is 5 s). A stop waits for the
 * fetch under way, and a fetch lists only the partitions not paused, so this bounds both how long a
 * shutdown waits and how late a resumed partition is fetched; an idle member pays one fetch a second.
 */
const FETCH_WAIT_MS = 1000;
/** back-off before a lane tries a batch again after a failure it could not route (database or Kafka down) */
const LANE_RETRY_MS = [500, 1000, 2000, 5000];

/** One partition's batches, applied one after another, apart from every other partition's. */
interface Lane {
  topic: string;
  partition: number;
  /** fetched batches waiting their turn, each with the epoch it was queued in */
  waiting: Array<{ payload: EachBatchPayload; epoch: number }>;
  /** the loop applying `waiting`, while there is one */
  draining?: Promise<void>;
  /** batches queued and not yet done (waiting, or being applied) */
  queued: number;
  paused: boolean;
  /** bumped when the partition leaves this member: batches queued before then are skipped */
  epoch: number;
  /** with `prepare`, the messages of the main topic under way, each applied once prepared (see KeyedLane) */
  keyed?: KeyedLane<Decoded>;
  /** batches queued at which the partition is paused */
  depth: number;
}

/** One message as fetched, with what acknowledging or re-routing it needs. */
interface Delivery {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** whether this member still runs and owns the delivery's partition */
  current: () => boolean;
}

/** A delivery whose envelope passed its contract. */
interface Decoded extends Delivery {
  envelope: Envelope;
  headers: Record<string, string>;
  attempt: number;
}

/**
 * Consumes a topic and its retry topic. Each message is applied at most once per consumer group: its
 * envelope id is inserted into the inbox in the same transaction as the handler's writes. The messages a
 * fetch brings for one partition are applied together, in order, in one transaction with one inbox insert,
 * so a busy stream costs a commit per batch rather than per message; when any of them fails, the batch
 * rolls back and its messages are applied one by one, so one bad message delays its neighbours but never
 * takes them with it. A failing message moves to `<topic>.retry`, where it is tried again after each
 * back-off, then goes to `<topic>.dlt` with the error in headers; a message that breaks its contract goes to
 * the dead-letter topic at once. A key stays in order through all this: while one of its messages waits in
 * the retry topic the key is parked (a row in `parked_keys`), and its later messages follow it there instead
 * of being applied, to be applied after it in the retry topic's order; the key is unparked once the last of
 * them is done with (applied or dead-lettered).
 * Nothing is swallowed: when even the retry or dead-letter topic cannot be written, the offset is not
 * committed and Kafka redelivers. Offsets are committed on an interval and once more on stop (see
 * OffsetCommits).
 *
 * kafkajs fetches from a broker again only when every batch of its last fetch is done, so one slow batch
 * (an AMS call waiting out its timeout, a redelivery waiting out its back-off) would hold up every
 * partition. Each partition's batches therefore go to a lane of their own and are applied one after
 * another while kafkajs goes on fetching the others: its fetch position moves past a batch as soon as the
 * batch is queued, offsets are committed only once settled, the batches that queued up behind the one
 * being applied are applied together next, a lane holding `LANE_DEPTH` batches pauses its partition until
 * it drains, and a batch that fails without being routed (database or Kafka down) is tried again in its
 * lane after a back-off. A consumer with `prepare` goes further inside a lane: each message is applied as
 * soon as its call returns, keys apart, offsets still settled in order (see KeyedLane). After a
 * rebalance, a lane finishes the batch it is applying while the partition's new owner may already start
 * on it: the inbox lets only one of them apply each message, and `prepare` may run on both, which it must
 * bear anyway (it runs again on any redelivery).
 */
export class IdempotentConsumer {
  private consumer?: Consumer;
  /** the partitions this member owns, by full topic name, as of the last rebalance */
  private assigned: Record<string, number[]> = {};
  private commits?: OffsetCommits;
  /** the batches being applied, which a stop waits for before its last offset commit */
  private readonly inFlight = new Set<Promise<void>>();
  /** by `topic:partition` */
  private readonly lanes = new Map<string, Lane>();
  private stopping = false;
  /**
   * Set once this member parks a key (see `sendToRetry`): from then on a keyed lane reads at each message's
   * turn whether its key is parked, since a message of its batch may have parked it after the batch was read.
   */
  private parkedAny = false;
  private readonly processed;
  private readonly failures;
  private readonly duration;
  private readonly slots;

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly topicPrefix: string,
    private readonly options: ConsumerOptions,
  ) {
    this.processed = metrics.counter('kafka_messages_processed_total', 'Messages handled', ['topic', 'group', 'type', 'result']);
    this.failures = metrics.counter('kafka_messages_failed_total', 'Messages sent to retry or dead-letter topics', ['topic', 'group', 'destination']);
    this.slots = transactionSlots(dataSource);
    this.duration = metrics.histogram('kafka_message_processing_seconds', 'Time to apply one message (a batch applied together counts its time once per message, divided among them)', ['topic', 'group']);
  }

  get topics(): { main: string; retry: string; dlt: string } {
    const main = this.topicPrefix + this.options.topic;
    return { main, retry: this.topicPrefix + retryTopic(this.options.topic), dlt: this.topicPrefix + deadLetterTopic(this.options.topic) };
  }

  async start(): Promise<void> {
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    this.consumer = this.kafka.consumer({
      groupId: this.kafkaGroupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      allowAutoTopicCreation: false,
      // at most 64 kB of a partition per fetch, so a lane's queue (LANE_DEPTH batches, or KEYED_LANE_DEPTH: 4 MB) stays bounded
      maxBytesPerPartition: 64 * 1024,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    const consumer = this.consumer;
    const commits = new OffsetCommits((offsets) => consumer.commitOffsets(offsets), this.options.commitIntervalMs ?? 1000, this.logger);
    this.commits = commits;
    this.stopping = false;
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = payload.memberAssignment;
      commits.retain(this.assigned);
      this.dropLanes((lane) => !this.assigned[lane.topic]?.includes(lane.partition));
    });
    this.consumer.on(this.consumer.events.STOP, () => {
      this.assigned = {};
    });
    this.consumer.on(this.consumer.events.CRASH, () => {
      this.assigned = {};
      this.dropLanes(() => true);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topics.main, this.topics.retry], fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 12,
      // offsets are resolved as messages are settled, so a batch cut short by a rebalance or a stop resumes where it was
      eachBatchAutoResolve: false,
      autoCommit: false,
      eachBatch: async (payload) => this.enqueue(payload),
    });
    commits.start();
  }

  /** Lets the batches under way finish, commits what they settled, then leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    // a keyed lane's batches are tracked as they are taken, so wait until none is left
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    await this.commits?.stop();
    this.commits = undefined;
    await this.consumer?.disconnect();
    this.consumer = undefined;
    this.assigned = {};
    this.lanes.clear();
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** the group as the broker knows it: prefixed like the topics, so suites sharing a broker never share a group */
  get kafkaGroupId(): string {
    return this.topicPrefix + this.options.groupId;
  }

  /** The partitions this member owns now, by full topic name (empty before the first join and after a stop). */
  assignment(): Record<string, number[]> {
    return this.assigned;
  }

  private async track(batch: Promise<void>): Promise<void> {
    this.inFlight.add(batch);
    try {
      await batch;
    } finally {
      this.inFlight.delete(batch);
    }
  }

  /** Queues a fetched batch in its partition's lane and lets kafkajs fetch on (see the class comment). */
  private enqueue(payload: EachBatchPayload): void {
    const { batch } = payload;
    if (!batch.messages.length || this.stopping) return;
    const key = `${batch.topic}:${batch.partition}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { topic: batch.topic, partition: batch.partition, waiting: [], queued: 0, paused: false, epoch: 0, depth: LANE_DEPTH };
      if (this.options.prepare && batch.topic === this.topics.main) {
        lane.keyed = this.keyedLane(lane);
        lane.depth = KEYED_LANE_DEPTH;
      }
      this.lanes.set(key, lane);
    }
    lane.waiting.push({ payload, epoch: lane.epoch });
    lane.queued++;
    if (lane.queued >= lane.depth && !lane.paused) {
      lane.paused = true;
      this.consumer?.pause([{ topic: lane.topic, partitions: [lane.partition] }]);
    }
    payload.resolveOffset(batch.lastOffset());
    lane.draining ??= this.track(this.drain(lane));
  }

  /**
   * Applies a lane's batches until none is waiting. The batches that queued up while the previous one was
   * being applied are applied together, as one: under load a partition's transactions grow rather than
   * multiply. (A lane holds one topic; the retry topic's messages are applied one by one anyway.)
   */
  private async drain(lane: Lane): Promise<void> {
    while (lane.waiting.length) {
      const { epoch } = lane.waiting[0];
      let together = 1;
      while (together < lane.waiting.length && lane.waiting[together].epoch === epoch) together++;
      const taken = lane.waiting.splice(0, together).map((w) => w.payload);
      const done = () => {
        lane.queued -= taken.length;
        if (lane.paused && lane.queued < lane.depth && lane.epoch === epoch) {
          lane.paused = false;
          this.consumer?.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
        }
      };
      if (lane.keyed) {
        // the lane takes the next batch once this one is under way; the batch counts as queued until settled
        const { settled } = await this.intake(lane, lane.keyed, epoch, taken);
        void this.track(settled.finally(done));
        continue;
      }
      try {
        await this.runInLane(lane, epoch, taken);
      } finally {
        done();
      }
    }
    lane.draining = undefined;
  }

  private laneIsCurrent(lane: Lane, epoch: number, payloads: EachBatchPayload[]): () => boolean {
    return () => lane.epoch === epoch && payloads[0].isRunning() && !this.stopping;
  }

  /**
   * Applies a lane's batch, trying it again while it fails. A main-topic batch is decoded once, before that:
   * trying it again never dead-letters its unreadable messages a second time.
   */
  private async runInLane(lane: Lane, epoch: number, payloads: EachBatchPayload[]): Promise<void> {
    const current = this.laneIsCurrent(lane, epoch, payloads);
    const deliveries = payloads.flatMap((payload) => payload.batch.messages).map((message) => ({ topic: lane.topic, partition: lane.partition, message, current }));
    const commits = this.commits;
    const settle = (delivery: Delivery) => commits?.settled(delivery.topic, delivery.partition, delivery.message.offset);
    if (lane.topic === this.topics.retry) {
      await this.retrying(lane, current, () => this.redeliver(deliveries, settle));
      return;
    }
    let decoded: Decoded[] = [];
    const read = await this.retrying(lane, current, async () => {
      decoded = await this.decodeAll(deliveries);
    });
    if (read) await this.retrying(lane, current, () => this.onBatch(deliveries, decoded, settle, current));
  }

  /**
   * Hands a batch to the lane's keyed pipeline (consumers with `prepare`): its messages are decoded, the
   * ones this group already applied skip `prepare`, the ones whose key is parked are held without it, and
   * each of the others is applied as soon as it is prepared.
   */
  private async intake(lane: Lane, keyed: KeyedLane<Decoded>, epoch: number, payloads: EachBatchPayload[]): Promise<{ settled: Promise<void> }> {
    const current = this.laneIsCurrent(lane, epoch, payloads);
    const messages = payloads.flatMap((payload) => payload.batch.messages);
    let decoded: Decoded[] = [];
    const read = await this.retrying(lane, current, async () => {
      decoded = await this.decodeAll(messages.map((message) => ({ topic: lane.topic, partition: lane.partition, message, current })));
    });
    if (!read) return { settled: Promise.resolve() };
    // when the inbox cannot be read, every message is prepared: `prepare` bears repeating, and the inbox still applies each once
    const done = await this.appliedIds(decoded.map((item) => item.envelope.id)).catch(() => new Set<string>());
    // the keys parked when the batch came, read once; undefined when they could not be read (each message reads its own)
    const parkedAtIntake = await this.parkedKeys(decoded).catch(() => undefined);
    const prepare = this.options.prepare!;
    const settled = keyed.add({
      offsets: messages.map((message) => message.offset),
      items: decoded,
      current,
      prepare: async (item) => {
        if (done.has(item.envelope.id)) return undefined;
        // A key parked before the batch came, or by the message before it of its key (applied or re-routed
        // before this one's turn), holds this one before its call is made, so the other system never sees a
        // key's later call ahead of the earlier one waiting in the retry topic. Only a member that parked a key
        // since it started reads at each message's turn; the others know every parked key from the batch's read.
        if (parkedAtIntake?.has(item.envelope.key)) throw new KeyParked();
        if (!parkedAtIntake || this.parkedAny) {
          if ((await this.untilDatabaseIsBack(current, () => this.parkedKeys([item]))).size) throw new KeyParked();
        }
        return this.inSpan(item, 'prepare', () => this.untilDatabaseIsBack(current, () => prepare(item.envelope)));
      },
    });
    return { settled };
  }

  /**
   * Runs `work` again after a back-off while it fails because the database is unavailable and the lane is
   * still this member's: the message keeps its place in its key's order rather than going to the retry topic.
   */
  private async untilDatabaseIsBack<T>(current: () => boolean, work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!isDatabaseUnavailable(error) || !current()) throw error;
        await backOff(attempt, (delayMs) => this.logger.warn({ err: error, delayMs }, 'prepare found the database unavailable; trying it again'));
      }
    }
  }

  /** The steps of a keyed lane: applying what is prepared, re-routing what failed, settling offsets in order. */
  private keyedLane(lane: Lane): KeyedLane<Decoded> {
    return new KeyedLane<Decoded>({
      keyOf: (item) => item.envelope.key,
      offsetOf: (item) => item.message.offset,
      apply: async (ready, current) => {
        // settled only when every message was applied or re-routed, never when the lane stopped half-way
        let all = false;
        await this.retrying(lane, current, async () => {
          const items = ready.map(({ item }) => item);
          const parked = await this.parkedKeys(items);
          const prepared = new Map(ready.map(({ item, prepared }) => [item.envelope.id, prepared]));
          if (!parked.size && ready.length > 1 && (await this.applyTogether(items, prepared))) {
            all = true;
            return;
          }
          for (const { item, prepared } of ready) {
            if (!current()) return;
            await this.applyOrHold(item, parked, { prepared });
          }
          all = true;
        });
        return all;
      },
      fail: (item, error, current) =>
        this.retrying(lane, current, async () => {
          if (error instanceof KeyParked) await this.hold(item);
          else await this.onFailure(item, error);
        }),
      settle: (offset) => this.commits?.settled(lane.topic, lane.partition, offset),
    });
  }

  /**
   * Runs `work` until it succeeds, with back-off between tries (a failure it could not route: database
   * or Kafka down), while the lane is still this member's; resolves whether it succeeded.
   */
  private async retrying(lane: Lane, current: () => boolean, work: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; current(); attempt++) {
      try {
        await work();
        return true;
      } catch (error) {
        await backOff(attempt, (delayMs) => this.logger.warn({ err: error, topic: lane.topic, partition: lane.partition, delayMs }, 'batch failed; trying it again'));
      }
    }
    return false;
  }

  /**
   * Lanes of partitions this member no longer owns skip what they queued and stop after the batch they are
   * applying; a lane is kept, so if its partition comes back its new batches still wait for that one.
   */
  private dropLanes(which: (lane: Lane) => boolean): void {
    for (const lane of this.lanes.values()) {
      if (!which(lane)) continue;
      lane.epoch++;
      lane.keyed?.reset();
      if (lane.paused) {
        lane.paused = false;
        this.consumer?.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
      }
    }
  }

  /**
   * Applies the retry topic's messages one by one, in the order they came (a key's messages held behind one
   * that failed follow it there), each once its back-off is over.
   */
  private async redeliver(deliveries: Delivery[], settle: (delivery: Delivery) => void): Promise<void> {
    for (const delivery of deliveries) {
      if (!delivery.current()) return;
      const decoded = await this.decode(delivery);
      if (!delivery.current()) return; // stopped or rebalanced while waiting out the back-off
      if (decoded && !(await this.applyInPlace(decoded))) return;
      settle(delivery);
    }
  }

  /**
   * Applies a message from the retry topic, trying it again after each back-off while it fails, then
   * dead-letters it. It is tried again in place rather than sent to the end of the retry topic, so the
   * messages of its key held behind it stay behind it. Once it is done with, its key is unparked unless a
   * later message of the key was held since. Resolves false when the lane stopped being this member's.
   */
  private async applyInPlace(item: Decoded): Promise<boolean> {
    const delays = this.retryDelays;
    for (let attempt = item.attempt; ; attempt++) {
      const tried = { ...item, attempt, headers: { ...item.headers, [H.attempt]: String(attempt) } };
      const outcome = await this.tryApply(tried, undefined, async (error) => error);
      if (!outcome) break;
      const { failed: error } = outcome;
      const { envelope } = item;
      if (isPermanent(error) || attempt >= delays.length) {
        this.logger.error({ err: error, messageId: envelope.id, type: envelope.type, attempt }, 'message dead-lettered');
        await this.deadLetter(tried, tried.headers, errorCode(error), errorMessage(error));
        break;
      }
      this.logger.warn({ err: error, messageId: envelope.id, type: envelope.type, attempt, delayMs: delays[attempt] }, 'message failed again; trying it again after a back-off');
      this.failures.inc({ topic: this.options.topic, group: this.options.groupId, destination: 'retry' });
      await waitUntil(Date.now() + delays[attempt], item.current);
      if (!item.current()) return false;
    }
    await this.dataSource.query(UNPARK, [this.options.groupId, item.envelope.key, item.envelope.id]);
    return true;
  }

  /** Applies a main-topic batch, given the envelopes of its messages that decoded: together, or else one by one. */
  private async onBatch(deliveries: Delivery[], decoded: Decoded[], settle: (delivery: Delivery) => void, current: () => boolean): Promise<void> {
    if (!current()) return;
    const parked = await this.parkedKeys(decoded);
    if (!parked.size && decoded.length > 1 && (await this.applyTogether(decoded, new Map()))) {
      settle(deliveries[deliveries.length - 1]);
      return;
    }
    const byOffset = new Map(decoded.map((item) => [item.message.offset, item]));
    for (const delivery of deliveries) {
      if (!current()) return;
      const item = byOffset.get(delivery.message.offset);
      if (item) await this.applyOrHold(item, parked);
      settle(delivery);
    }
  }

  /** The keys of these main-topic messages that are parked: their messages go to the retry topic, behind the one waiting there. */
  private async parkedKeys(items: Decoded[]): Promise<Set<string>> {
    if (!items.length) return new Set();
    const rows: Array<{ key: string }> = await this.dataSource.query(PARKED, [this.options.groupId, [...new Set(items.map((item) => item.envelope.key))]]);
    return new Set(rows.map((row) => row.key));
  }

  /**
   * Applies a main-topic message on its own, or holds it behind its key's message in the retry topic when
   * the key is parked; adds the key to `parked` when this message's failure parked it.
   */
  private async applyOrHold(item: Decoded, parked: Set<string>, done?: { prepared: unknown }): Promise<void> {
    const { key } = item.envelope;
    if (parked.has(key)) return this.hold(item);
    if (await this.applyOne(item, done)) parked.add(key);
  }

  /** Sends a main-topic message of a parked key to the retry topic, behind its key's message waiting there. */
  private async hold(item: Decoded): Promise<void> {
    await this.sendToRetry(item, { attempt: item.attempt, notBefore: 0, code: 'KEY_PARKED', reason: 'held behind an earlier message of its key in the retry topic' });
    this.failures.inc({ topic: this.options.topic, group: this.options.groupId, destination: 'held' });
  }

  /** The envelopes of the deliveries that decode, in order (see `decode`). */
  private async decodeAll(deliveries: Delivery[]): Promise<Decoded[]> {
    const decoded: Decoded[] = [];
    for (const delivery of deliveries) {
      const item = await this.decode(delivery);
      if (item) decoded.push(item);
    }
    return decoded;
  }

  /**
   * The envelope of a delivery, or undefined when it is not for this group (another group's retry, a type it
   * does not apply) or breaks its contract (then it is dead-lettered here). Waits out a retry's back-off.
   */
  private async decode(delivery: Delivery): Promise<Decoded | undefined> {
    const headers = decodeHeaders(delivery.message.headers);
    const fromRetry = delivery.topic === this.topics.retry;
    if (fromRetry && headers[H.group] !== this.options.groupId) return undefined;
    if (fromRetry) await waitUntil(Number(headers[H.notBefore] ?? 0), delivery.current);
    try {
      const message: unknown = JSON.parse(delivery.message.value?.toString('utf8') ?? 'null');
      if (this.options.types && !this.options.types.has(String((message as { type?: unknown } | null)?.type))) return undefined;
      const envelope = parseMessage(this.options.topic, message);
      return { ...delivery, envelope, headers, attempt: Number(headers[H.attempt] ?? 0) };
    } catch (error) {
      const violation = error instanceof ContractViolation ? error : new ContractViolation('unreadable message', [String((error as Error).message)]);
      await this.deadLetter(delivery, headers, violation.code, violation.message);
      return undefined;
    }
  }

  /**
   * Applies a batch in one transaction: one inbox insert for every envelope id, then each new message's
   * handler (with what `prepare` returned for it), each key's messages in offset order, all inside
   * `withBatch` when there is one, their outbox rows written together at the end. Returns false, with
   * nothing written, when any step failed.
   */
  private async applyTogether(batch: Decoded[], prepared: Map<string, unknown>): Promise<boolean> {
    const group = this.options.groupId;
    // Ordered by key (stable, so each key keeps its offset order): two transactions that lock rows of the
    // same keys, such as two groups of one service, take them in the same order and cannot deadlock.
    const items = [...batch].sort((a, b) => (a.envelope.key < b.envelope.key ? -1 : a.envelope.key > b.envelope.key ? 1 : 0));
    const started = process.hrtime.bigint();
    let applied: Set<string>;
    try {
      applied = await this.transaction(async (manager) => {
        const inserted: Array<{ message_id: string }> = await manager.query(
          INBOX_INSERT,
          [group, items.map((item) => item.envelope.id), this.options.topic],
        );
        const fresh = new Set(inserted.map((row) => row.message_id));
        // a message published twice (a relay that died between sending and deleting its rows) is handled once
        const handled = items.filter((item) => fresh.delete(item.envelope.id));
        if (handled.length) {
          await collectOutbox(manager, () => this.withBatch(handled.map((item) => item.envelope), manager, () => this.handleEach(handled, manager, prepared)));
        }
        return new Set(handled.map((item) => item.envelope.id));
      });
    } catch (error) {
      this.logger.warn({ err: error, messages: items.length, partition: items[0].partition }, 'batch failed; applying its messages one by one');
      return false;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9 / items.length;
    for (const item of items) {
      const wasApplied = applied.delete(item.envelope.id);
      this.duration.observe({ topic: this.options.topic, group }, seconds);
      this.processed.inc({ topic: this.options.topic, group, type: item.envelope.type, result: wasApplied ? 'applied' : 'duplicate' });
      this.options.onProcessed?.(item.envelope, wasApplied);
    }
    return true;
  }

  /**
   * Applies one main-topic message in its own transaction, after `prepare` unless given what it returned; a
   * failure goes to the retry or dead-letter topic (see `tryApply`). Resolves whether the failure parked the
   * message's key.
   */
  private async applyOne(item: Decoded, done?: { prepared: unknown }): Promise<boolean> {
    const outcome = await this.tryApply(item, done, (error) => this.onFailure(item, error));
    return outcome?.failed ?? false;
  }

  /**
   * Applies one message in its own transaction, after `prepare` unless given what it returned. A failure is
   * handed to `failed` (in the message's span) and its answer resolved as `{ failed }`, unless the database is
   * unavailable: then it throws, and the lane tries the batch again after a back-off, so an outage delays
   * messages rather than dead-letters them. Resolves undefined once the message is applied (or was already).
   */
  private async tryApply<F>(item: Decoded, done: { prepared: unknown } | undefined, failed: (error: unknown) => Promise<F>): Promise<{ failed: F } | undefined> {
    const { envelope, partition, message, attempt } = item;
    const group = this.options.groupId;
    const timer = this.duration.startTimer({ topic: this.options.topic, group });
    const result = await this.inSpan(item, 'process', async (): Promise<{ applied: boolean } | { failed: F }> => {
      try {
        let prepared = done?.prepared;
        if (this.options.prepare && !done) {
          if ((await this.appliedIds([envelope.id])).size) return { applied: false };
          prepared = await this.options.prepare(envelope);
        }
        const applied = await this.transaction(async (manager) => {
          const inserted: unknown[] = await manager.query(INBOX_INSERT, [group, [envelope.id], this.options.topic]);
          if (!inserted.length) return false;
          const { handle, handleBatch } = this.options;
          await collectOutbox(manager, () =>
            this.withBatch([envelope], manager, () =>
              handleBatch ? handleBatch([envelope], manager) : handle(envelope, { manager, topic: this.options.topic, partition, offset: message.offset, attempt, prepared }),
            ),
          );
          return true;
        });
        this.processed.inc({ topic: this.options.topic, group, type: envelope.type, result: applied ? 'applied' : 'duplicate' });
        return { applied };
      } catch (error) {
        // the database away is no fault of the message: the lane tries its batch again, offsets unsettled
        if (isDatabaseUnavailable(error)) throw error;
        return { failed: await failed(error) };
      } finally {
        timer();
      }
    });
    if ('failed' in result) return result;
    this.options.onProcessed?.(envelope, result.applied);
    return undefined;
  }

  /** The batch handler with every message, or each message's handler in its own span one after another, in the transaction of `manager`. */
  private async handleEach(items: Decoded[], manager: EntityManager, prepared: Map<string, unknown>): Promise<void> {
    const { handle, handleBatch } = this.options;
    if (handleBatch) return handleBatch(items.map((item) => item.envelope), manager);
    for (const item of items) {
      await this.inSpan(item, 'process', () =>
        handle(item.envelope, { manager, topic: this.options.topic, partition: item.partition, offset: item.message.offset, attempt: item.attempt, prepared: prepared.get(item.envelope.id) }),
      );
    }
  }

  /** A transaction in one of the pool's slots for consumers (see TransactionSlots). */
  private transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.slots.run(() => this.dataSource.transaction(work));
  }

  private withBatch<T>(envelopes: Envelope[], manager: EntityManager, handleAll: () => Promise<T>): Promise<T> {
    return this.options.withBatch ? this.options.withBatch(envelopes, manager, handleAll) : handleAll();
  }

  /** Runs `work` in a consumer span that continues the trace the message carries. */
  private inSpan<T>(item: Decoded, step: 'prepare' | 'process', work: () => Promise<T>): Promise<T> {
    return withConsumerSpan(`${this.options.topic} ${step}`, item.headers, {
      'messaging.system': 'kafka', 'messaging.destination.name': item.topic, 'messaging.message.id': item.envelope.id,
      'messaging.kafka.consumer.group': this.options.groupId, 'upm.message.type': item.envelope.type,
    }, work);
  }

  /** Which of these envelope ids this group's inbox already holds (read before `prepare`, outside any transaction). */
  private async appliedIds(messageIds: string[]): Promise<Set<string>> {
    const rows: Array<{ message_id: string }> = await this.dataSource.query(INBOX_APPLIED, [this.options.groupId, messageIds]);
    return new Set(rows.map((row) => row.message_id));
  }

  private get retryDelays(): number[] {
    return this.options.retryDelaysMs ?? [1000, 5000, 30000];
  }

  /** Routes a main-topic message whose handler failed: to the retry topic (resolves true: its key is parked) or the dead-letter topic. */
  private async onFailure(item: Decoded, error: unknown): Promise<boolean> {
    const { envelope, attempt, headers } = item;
    const delays = this.retryDelays;
    if (isPermanent(error) || attempt >= delays.length) {
      this.logger.error({ err: error, messageId: envelope.id, type: envelope.type, attempt }, 'message dead-lettered');
      await this.deadLetter(item, headers, errorCode(error), errorMessage(error));
      return false;
    }
    this.logger.warn({ err: error, messageId: envelope.id, type: envelope.type, attempt }, 'message failed; scheduling a retry, its key\'s later messages held behind it');
    await this.sendToRetry(item, { attempt: attempt + 1, notBefore: Date.now() + delays[attempt], code: errorCode(error), reason: errorMessage(error) });
    this.failures.inc({ topic: this.options.topic, group: this.options.groupId, destination: 'retry' });
    return true;
  }

  /**
   * Sends a main-topic message to the retry topic, to be applied there not before `notBefore`. Its key is
   * parked first, so none of the key's later messages can pass it: a stop between the two leaves the key
   * parked with this message unsettled, and its redelivery is held and sent again.
   */
  private async sendToRetry(item: Decoded, retry: { attempt: number; notBefore: number; code: string; reason: string }): Promise<void> {
    this.parkedAny = true;
    await this.dataSource.query(PARK, [this.options.groupId, item.envelope.key, item.envelope.id]);
    await this.producer.send({
      topic: this.topics.retry,
      acks: -1,
      messages: [{
        key: item.message.key,
        value: item.message.value,
        headers: {
          ...item.headers,
          [H.originalTopic]: item.topic,
          [H.originalPartition]: String(item.partition),
          [H.originalOffset]: item.message.offset,
          [H.attempt]: String(retry.attempt),
          [H.notBefore]: String(retry.notBefore),
          [H.group]: this.options.groupId,
          [H.errorCode]: retry.code,
          [H.errorMessage]: truncate(retry.reason),
        },
      }],
    });
  }

  private async deadLetter(delivery: Delivery, headers: Record<string, string>, code: string, reason: string): Promise<void> {
    const fromRetry = delivery.topic === this.topics.retry;
    await this.producer.send({
      topic: this.topics.dlt,
      acks: -1,
      messages: [{
        key: delivery.message.key,
        value: delivery.message.value,
        headers: {
          ...headers,
          [H.group]: this.options.groupId,
          [H.errorCode]: code,
          [H.errorMessage]: truncate(reason),
          [H.originalTopic]: fromRetry ? headers[H.originalTopic] : delivery.topic,
          [H.originalPartition]: fromRetry ? headers[H.originalPartition] : String(delivery.partition),
          [H.originalOffset]: fromRetry ? headers[H.originalOffset] : delivery.message.offset,
          [H.failedAt]: new Date().toISOString(),
        },
      }],
    });
    this.failures.inc({ topic: this.options.topic, group: this.options.groupId, destination: 'dlt' });
  }
}

export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(',') : value.toString();
  }
  return out;
}

/** Waits out the lane's back-off before try `attempt + 1`, saying first how long. */
async function backOff(attempt: number, announce: (delayMs: number) => void): Promise<void> {
  const delay = LANE_RETRY_MS[Math.min(attempt, LANE_RETRY_MS.length - 1)];
  announce(delay);
  await new Promise((resolve) => setTimeout(resolve, delay));
}

/** Sleeps until `at`, or until the delivery is no longer this member's to apply. */
async function waitUntil(at: number, current: () => boolean): Promise<void> {
  while (Date.now() < at && current()) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, at - Date.now())));
  }
}

const truncate = (text: string) => (text.length > 1000 ? `${text.slice(0, 1000)}…` : text);

/**
 * An error no retry can mend: a PermanentError, or a message the handler wrote that breaks its contract (the
 * same input writes the same message again).
 */
function isPermanent(error: unknown): boolean {
  return error instanceof PermanentError || error instanceof ContractViolation;
}

function errorCode(error: unknown): string {
  return error instanceof PermanentError ? error.code : ((error as { code?: string }).code ?? 'HANDLER_FAILED');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
