import { Kafka, logLevel } from 'kafkajs';
import { allTopics } from '@upm/contracts';
import { decodeHeaders, ensureTopics } from '@upm/shared-kafka';

export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** How every test suite's topics begin (`uniquePrefix`). */
export const TEST_TOPIC_PREFIX = 't-';

/** A prefix no other run has used, so a suite sees only its own messages on the shared broker. */
export function uniquePrefix(suite: string): string {
  return `${TEST_TOPIC_PREFIX}${suite}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}.`;
}

/** When the suite that owns a topic took its prefix (`uniquePrefix`), or undefined for a topic of no suite. */
export function testTopicCreatedAt(topic: string): number | undefined {
  const match = /^t-.+-([0-9a-z]{6,10})-[0-9a-z]{1,4}\./.exec(topic);
  return match ? parseInt(match[1], 36) : undefined;
}

/**
 * Deletes the topics of test suites that took their prefix longer than `olderThanMs` ago, and answers how many:
 * runs leave theirs behind, and a broker keeps a file open for each partition and opens them all at start-up (some
 * thirty-five partitions a suite, fifty suites a run: after a dozen runs the local broker no longer starts). A suite
 * still running on the same broker (another checkout's tests, a benchmark) is younger than that and keeps its topics.
 */
export async function deleteOldTestTopics(kafka: Kafka, olderThanMs: number, now: number = Date.now()): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => {
      const createdAt = testTopicCreatedAt(topic);
      return createdAt !== undefined && now - createdAt > olderThanMs;
    });
    // a few hundred at a time: one request for thousands of topics outlasts the broker's request timeout
    for (let i = 0; i < topics.length; i += 200) await admin.deleteTopics({ topics: topics.slice(i, i + 200), timeout: 60_000 });
    return topics.length;
  } finally {
    await admin.disconnect();
  }
}

export function testKafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

/** Creates the platform's topics under the prefix (small partition counts keep the test broker light). */
export async function createTestTopics(kafka: Kafka, prefix: string, partitions = 3): Promise<void> {
  await ensureTopics(kafka, allTopics(prefix).map((t) => ({ name: t.name, partitions: Math.min(t.partitions, partitions) })));
}

export interface ReadMessage {
  key: string;
  value: unknown;
  headers: Record<string, string>;
  partition: number;
}

/** Reads a topic from the beginning until `until` is satisfied or the timeout passes. */
export async function readTopic(kafka: Kafka, topic: string, until: (messages: ReadMessage[]) => boolean, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${Math.random().toString(36).slice(2)}` });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          messages.push({ key: message.key?.toString() ?? '', value: parseValue(message.value), headers: decodeHeaders(message.headers), partition });
          if (until(messages)) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** JSON when the value is JSON, the raw text otherwise (dead-letter topics hold unreadable messages too). */
function parseValue(value: Buffer | null): unknown {
  const text = value?.toString('utf8') ?? 'null';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
