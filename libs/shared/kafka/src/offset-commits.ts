import type { TopicPartitionOffset } from 'kafkajs';
import type { Logger } from '@upm/shared-observability';

/**
 * The offsets a consumer has settled, committed to Kafka on an interval rather than after every batch: a
 * busy group sends one offset commit a second instead of one per batch. What this risks is redelivery of
 * the messages settled since the last commit when a member dies or loses a partition, which the inbox
 * already makes harmless. Commits run one at a time; a failed one is retried on the next tick.
 */
export class OffsetCommits {
  /** the next offset to consume, by `topic:partition` */
  private readonly pending = new Map<string, TopicPartitionOffset>();
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  /** the partitions this member owns since the last rebalance (unknown before the first) */
  private assigned?: Record<string, number[]>;

  constructor(
    private readonly commit: (offsets: TopicPartitionOffset[]) => Promise<void>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /**
   * Marks `offset` of the partition settled (applied, or re-routed to the retry or dead-letter topic).
   * A partition this member no longer owns is left to its new owner, even when a batch finishes late.
   */
  settled(topic: string, partition: number, offset: string): void {
    if (this.assigned && !this.assigned[topic]?.includes(partition)) return;
    this.pending.set(`${topic}:${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
  }

  /** Forgets what was settled on partitions this member no longer owns: their new owner commits them. */
  retain(assigned: Record<string, number[]>): void {
    this.assigned = assigned;
    for (const [key, { topic, partition }] of this.pending) {
      if (!assigned[topic]?.includes(partition)) this.pending.delete(key);
    }
  }

  /** Commits everything settled so far; resolves once it is committed or, on failure, put back for the next tick. */
  flush(): Promise<void> {
    this.running = this.running.then(async () => {
      if (!this.pending.size) return;
      const offsets = [...this.pending.values()];
      this.pending.clear();
      try {
        await this.commit(offsets);
      } catch (error) {
        for (const offset of offsets) {
          const key = `${offset.topic}:${offset.partition}`;
          if (!this.pending.has(key)) this.pending.set(key, offset);
        }
        this.logger.warn({ err: error, partitions: offsets.length }, 'offset commit failed; retrying on the next tick');
      }
    });
    return this.running;
  }

  /** Stops the interval after one last commit. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
