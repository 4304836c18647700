import { Kafka, logLevel as KafkaLogLevel, LogEntry } from 'kafkajs';
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
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: 1 })),
      });
    }
    return missing.map((t) => t.name);
  } finally {
    await admin.disconnect();
  }
}
