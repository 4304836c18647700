import { Admin, Kafka, logLevel as KafkaLogLevel, LogEntry } from 'kafkajs';
import type { Logger } from '@upm/shared-observability';
import { mendKafkaRequestQueue } from './request-queue';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** prepended to every topic name: lets test suites share one broker without seeing each other */
  topicPrefix: string;
  /** consumer group session timeout (default 30 s) */
  sessionTimeoutMs?: number;
  /** how long processed message ids stay in the inbox (default 336 h, twice Kafka's default retention) */
  inboxRetentionHours?: number;
}

export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  mendKafkaRequestQueue();
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const fields = { namespace: entry.namespace, ...extra };
      if (entry.level <= KafkaLogLevel.ERROR) logger.error(fields, `kafka: ${message}`);
      else logger.warn(fields, `kafka: ${message}`);
    },
  });
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: Array<{ name: string; partitions: number }>): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length) {
      // kafkajs waits for leaders unless told not to, and gives up on the first unknown-topic answer: leadersElected waits instead
      await admin.createTopics({ waitForLeaders: false, topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: 1 })) });
      await leadersElected(admin, missing.map((t) => t.name));
    }
    return missing.map((t) => t.name);
  } finally {
    await admin.disconnect();
  }
}

/** errors a broker answers while a topic it has just created is still making its way into its metadata */
const NOT_YET_KNOWN = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Waits until every partition of the topics has a leader. kafkajs' own wait (`waitForLeaders`) gives up on the
 * first "does not host this topic-partition", which a busy broker answers for a moment after creating a topic.
 */
async function leadersElected(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: described } = await admin.fetchTopicMetadata({ topics });
      if (described.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      // kafkajs hands some of these over only after its own retries, wrapped (the type on the cause)
      const { type, cause } = error as { type?: string; cause?: { type?: string } };
      if (!NOT_YET_KNOWN.has(type ?? cause?.type ?? '')) throw error;
    }
    if (Date.now() > deadline) throw new Error(`topics without a leader after ${timeoutMs} ms: ${topics.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
