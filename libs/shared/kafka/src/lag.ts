import type { Admin } from 'kafkajs';
import type { Logger, Metrics } from '@upm/shared-observability';
import type { IdempotentConsumer } from './consumer';

export interface ConsumerLagOptions {
  topicPrefix: string;
  /** a scrape within this long of the last refresh reads the values already held (default 5 s) */
  maxAgeMs?: number;
  /** a scrape waits at most this long for a refresh; slower answers land in the next scrape (default 2 s) */
  scrapeWaitMs?: number;
}

/**
 * `kafka_consumer_lag_messages{topic,group,partition}`: for each partition this replica owns, the messages
 * between the partition's end and the group's committed offset. Each replica reports only its own
 * partitions, so summing over replicas counts each partition once; a consumer that stops committing shows
 * a growing lag because the end offsets are read from the broker, not from what the consumer fetched.
 * Refreshed when Prometheus scrapes, at most every `maxAgeMs`.
 */
export class ConsumerLag {
  private readonly gauge;
  private refreshing?: Promise<void>;
  private refreshedAt = 0;

  constructor(
    private readonly admin: () => Admin | undefined,
    private readonly consumers: () => readonly IdempotentConsumer[],
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly options: ConsumerLagOptions,
  ) {
    this.gauge = metrics.gauge('kafka_consumer_lag_messages', 'Messages not yet consumed on the partitions this replica owns', ['topic', 'group', 'partition'], () => this.onScrape());
  }

  /** Reads end offsets and committed offsets and replaces every series with the result. */
  async refresh(): Promise<void> {
    const admin = this.admin();
    const values: Array<{ topic: string; group: string; partition: string; lag: number }> = [];
    if (admin) {
      for (const consumer of this.consumers()) {
        const owned = Object.entries(consumer.assignment()).filter(([, partitions]) => partitions.length);
        if (!owned.length) continue;
        const committed = await admin.fetchOffsets({ groupId: consumer.kafkaGroupId, topics: owned.map(([topic]) => topic) });
        for (const [topic, partitions] of owned) {
          const ends = await admin.fetchTopicOffsets(topic);
          const groupOffsets = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
          for (const partition of partitions) {
            const end = ends.find((entry) => entry.partition === partition);
            if (!end) continue;
            const at = Number(groupOffsets.find((entry) => entry.partition === partition)?.offset ?? '-1');
            // nothing committed yet: the group starts from the beginning of what the partition still holds
            const from = at >= 0 ? at : Number(end.low);
            values.push({ topic: this.logical(topic), group: consumer.groupId, partition: String(partition), lag: Math.max(0, Number(end.high) - from) });
          }
        }
      }
    }
    this.gauge.reset();
    for (const { lag, ...labels } of values) this.gauge.set(labels, lag);
    this.refreshedAt = Date.now();
  }

  /** Drops every series: on shutdown this replica owns no partition any more. */
  clear(): void {
    this.gauge.reset();
  }

  private async onScrape(): Promise<void> {
    if (Date.now() - this.refreshedAt < (this.options.maxAgeMs ?? 5000)) return;
    this.refreshing ??= this.refresh()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer lag could not be read'))
      .finally(() => {
        this.refreshing = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.refreshing, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.scrapeWaitMs ?? 2000)))]);
    clearTimeout(timer);
  }

  private logical(topic: string): string {
    return topic.startsWith(this.options.topicPrefix) ? topic.slice(this.options.topicPrefix.length) : topic;
  }
}
