import type { Consumer, EachMessagePayload, IHeaders, Kafka, Producer } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { ContractViolation, deadLetterTopic, Envelope, parseMessage, retryTopic } from '@upm/contracts';
import type { Logger, Metrics } from '@upm/shared-observability';
import { withConsumerSpan } from './tracing';

/** An error that no retry can fix: the message goes straight to the dead-letter topic. */
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

export interface ConsumerOptions {
  groupId: string;
  /** the logical topic (without prefix) */
  topic: string;
  handle: MessageHandler;
  /**
   * Slow work (a call to another system) done before the transaction opens, so no database connection is
   * held while it waits; its result reaches `handle` as `context.prepared`. It runs again on redelivery,
   * so it must be safe to repeat (idempotent at the other end); a message already applied skips it.
   */
  prepare?: (envelope: Envelope) => Promise<unknown>;
  /** back-off before each redelivery from the retry topic; after the last one, the dead-letter topic */
  retryDelaysMs?: number[];
  partitionsConsumedConcurrently?: number;
  /** how long the group waits for a silent member before giving its partitions to another (Kafka's minimum is 6 s) */
  sessionTimeoutMs?: number;
  /** called after a message's transaction committed (applied=false for a duplicate), before its offset is committed */
  onProcessed?: (envelope: Envelope, applied: boolean) => void;
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

/**
 * Consumes a topic and its retry topic. Each message is applied at most once per consumer group: its
 * envelope id is inserted into the inbox in the same transaction as the handler's writes. A failing
 * message moves to `<topic>.retry` with back-off, then to `<topic>.dlt` with the error in headers; a
 * message that breaks its contract goes to the dead-letter topic at once. Nothing is swallowed: when
 * even the retry or dead-letter topic cannot be written, the offset is not committed and Kafka redelivers.
 */
export class IdempotentConsumer {
  private consumer?: Consumer;
  /** the partitions this member owns, by full topic name, as of the last rebalance */
  private assigned: Record<string, number[]> = {};
  private readonly processed;
  private readonly failures;
  private readonly duration;

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
    this.duration = metrics.histogram('kafka_message_processing_seconds', 'Time to apply one message', ['topic', 'group']);
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
      // kafkajs fetches again only when every partition's batch of the last fetch is done: small batches keep
      // one busy partition from holding the others back
      maxBytesPerPartition: 64 * 1024,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = payload.memberAssignment;
    });
    this.consumer.on(this.consumer.events.STOP, () => {
      this.assigned = {};
    });
    this.consumer.on(this.consumer.events.CRASH, () => {
      this.assigned = {};
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topics.main, this.topics.retry], fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 12,
      eachMessage: (payload) => this.onMessage(payload),
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
    this.assigned = {};
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

  private async onMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message, heartbeat } = payload;
    const headers = decodeHeaders(message.headers);
    const group = this.options.groupId;
    const fromRetry = topic === this.topics.retry;
    if (fromRetry && headers[H.group] !== group) return; // another group's retry
    if (fromRetry) await waitUntil(Number(headers[H.notBefore] ?? 0), heartbeat);
    const attempt = Number(headers[H.attempt] ?? 0);

    let envelope: Envelope;
    try {
      envelope = parseMessage(this.options.topic, JSON.parse(message.value?.toString('utf8') ?? 'null'));
    } catch (error) {
      const violation = error instanceof ContractViolation ? error : new ContractViolation('unreadable message', [String((error as Error).message)]);
      await this.deadLetter(payload, headers, violation.code, violation.message);
      return;
    }

    const timer = this.duration.startTimer({ topic: this.options.topic, group });
    const applied = await withConsumerSpan(`${this.options.topic} process`, headers, { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.message.id': envelope.id, 'messaging.kafka.consumer.group': group, 'upm.message.type': envelope.type }, async () => {
      try {
        let prepared: unknown;
        if (this.options.prepare) {
          if (await this.alreadyApplied(envelope.id)) return false;
          prepared = await this.options.prepare(envelope);
        }
        const applied = await this.dataSource.transaction(async (manager) => {
          const inserted: unknown[] = await manager.query(
            'INSERT INTO inbox (consumer_group, message_id, topic) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING message_id',
            [group, envelope.id, this.options.topic],
          );
          if (!inserted.length) return false;
          await this.options.handle(envelope, { manager, topic: this.options.topic, partition, offset: message.offset, attempt, prepared });
          return true;
        });
        this.processed.inc({ topic: this.options.topic, group, type: envelope.type, result: applied ? 'applied' : 'duplicate' });
        return applied;
      } catch (error) {
        await this.onFailure(payload, headers, envelope, attempt, error);
        return undefined;
      } finally {
        timer();
      }
    });
    if (applied !== undefined) this.options.onProcessed?.(envelope, applied);
  }

  private async alreadyApplied(messageId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query('SELECT 1 FROM inbox WHERE consumer_group = $1 AND message_id = $2', [this.options.groupId, messageId]);
    return rows.length > 0;
  }

  private async onFailure(payload: EachMessagePayload, headers: Record<string, string>, envelope: Envelope, attempt: number, error: unknown): Promise<void> {
    const code = error instanceof PermanentError ? error.code : ((error as { code?: string }).code ?? 'HANDLER_FAILED');
    const reason = error instanceof Error ? error.message : String(error);
    const delays = this.options.retryDelaysMs ?? [1000, 5000, 30000];
    if (error instanceof PermanentError || attempt >= delays.length) {
      this.logger.error({ err: error, messageId: envelope.id, type: envelope.type, attempt }, 'message dead-lettered');
      await this.deadLetter(payload, headers, code, reason);
      return;
    }
    this.logger.warn({ err: error, messageId: envelope.id, type: envelope.type, attempt }, 'message failed; scheduling a retry');
    const origin = payload.topic === this.topics.retry ? {} : {
      [H.originalTopic]: payload.topic,
      [H.originalPartition]: String(payload.partition),
      [H.originalOffset]: payload.message.offset,
    };
    await this.producer.send({
      topic: this.topics.retry,
      acks: -1,
      messages: [{
        key: payload.message.key,
        value: payload.message.value,
        headers: {
          ...headers,
          ...origin,
          [H.attempt]: String(attempt + 1),
          [H.notBefore]: String(Date.now() + delays[attempt]),
          [H.group]: this.options.groupId,
          [H.errorCode]: code,
          [H.errorMessage]: truncate(reason),
        },
      }],
    });
    this.failures.inc({ topic: this.options.topic, group: this.options.groupId, destination: 'retry' });
  }

  private async deadLetter(payload: EachMessagePayload, headers: Record<string, string>, code: string, reason: string): Promise<void> {
    const fromRetry = payload.topic === this.topics.retry;
    await this.producer.send({
      topic: this.topics.dlt,
      acks: -1,
      messages: [{
        key: payload.message.key,
        value: payload.message.value,
        headers: {
          ...headers,
          [H.group]: this.options.groupId,
          [H.errorCode]: code,
          [H.errorMessage]: truncate(reason),
          [H.originalTopic]: fromRetry ? headers[H.originalTopic] : payload.topic,
          [H.originalPartition]: fromRetry ? headers[H.originalPartition] : String(payload.partition),
          [H.originalOffset]: fromRetry ? headers[H.originalOffset] : payload.message.offset,
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

async function waitUntil(at: number, heartbeat: () => Promise<void>): Promise<void> {
  while (Date.now() < at) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, at - Date.now())));
    await heartbeat();
  }
}

const truncate = (text: string) => (text.length > 1000 ? `${text.slice(0, 1000)}…` : text);
