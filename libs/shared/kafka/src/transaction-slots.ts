import type { DataSource } from 'typeorm';
import { poolSizeOf } from '@upm/shared-database';

/**
 * How many transactions the consumers of one database pool may hold at once: half the pool (at least
 * one). Every lane of every consumer group may have a batch to apply, and a transaction keeps its
 * connection until it commits, also while the process is busy elsewhere; without a bound, a service's lanes
 * could take every connection, and its HTTP requests (a POS creating a payment) would time out waiting
 * for one. Waiting lanes go in the order they came, and a lane that waits gathers a larger batch.
 */
export class TransactionSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Runs `work` once a slot is free, and frees it when `work` settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

const byPool = new WeakMap<DataSource, TransactionSlots>();

/** The slots of a data source's pool, shared by every consumer that uses it. */
export function transactionSlots(dataSource: DataSource): TransactionSlots {
  let slots = byPool.get(dataSource);
  if (!slots) {
    slots = new TransactionSlots(Math.max(1, Math.floor(poolSizeOf(dataSource) / 2)));
    byPool.set(dataSource, slots);
  }
  return slots;
}
