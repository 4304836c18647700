/**
 * Waits until the broker answers (`--wait <seconds>`), then creates every topic of libs/contracts with its
 * partition count, plus the retry and dead-letter topics. Idempotent.
 */
import { Kafka, logLevel } from 'kafkajs';
import { allTopics } from '@upm/contracts';
import { ensureTopics } from '@upm/shared-kafka';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const prefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
const waitArg = process.argv.indexOf('--wait');
const waitSeconds = waitArg > 0 ? Number(process.argv[waitArg + 1]) : 0;

async function waitForBroker(kafka: Kafka): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return;
    } catch (error) {
      await admin.disconnect().catch(() => undefined);
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: 'kafka-topics', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  await waitForBroker(kafka);
  const created = await ensureTopics(kafka, allTopics(prefix));
  console.log(created.length ? `created topics: ${created.join(', ')}` : 'topics up to date');
}

main().catch((error: unknown) => {
  console.error(`kafka-topics: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
