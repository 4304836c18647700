/** What a keyed lane needs from its consumer. */
export interface KeyedSteps<T> {
  keyOf(item: T): string;
  offsetOf(item: T): string;
  /**
   * Applies prepared messages (in one transaction where it can), each key's in the order given; resolves
   * true once each is applied or re-routed, false when the lane stopped being this member's first.
   */
  apply(ready: Array<{ item: T; prepared: unknown }>, current: () => boolean): Promise<boolean>;
  /** re-routes a message whose preparation failed; resolves like `apply` */
  fail(item: T, error: unknown, current: () => boolean): Promise<boolean>;
  /** every message of the partition up to this offset is settled */
  settle(offset: string): void;
}

/** A fetched batch as handed to the lane. */
export interface KeyedBatch<T> {
  /** every message of the batch, in order, including those not in `items` (settled already) */
  offsets: string[];
  items: T[];
  /** the slow step (a call to another system), outside any transaction */
  prepare: (item: T) => Promise<unknown>;
  /** whether this member still runs and owns the partition as it did when the batch was fetched */
  current: () => boolean;
}

interface Ready<T> {
  item: T;
  prepared: unknown;
  current: () => boolean;
  applied: (settled: boolean) => void;
}

/**
 * One partition's messages for a consumer that prepares each message before applying it (an AMS call):
 * a message is prepared once the message before it of the same key is applied (or re-routed), and applied
 * as soon as it is prepared, together with whatever else is prepared by then, so a call Alipay leaves
 * unanswered holds up only its own key rather than every message fetched with it or after it. A message
 * whose apply fails and re-routes it (parking its key) is done with before the next one of its key is
 * prepared, so that one finds the key parked before its call. Each key's messages are applied in offset
 * order, and offsets are settled in order: the partition's settled offset never passes a message still
 * under way, so a member that dies redelivers it.
 */
export class KeyedLane<T> {
  /** by key, settles once the key's last message is prepared (or done with): the next one of the key starts then */
  private readonly tails = new Map<string, Promise<void>>();
  private ready: Array<Ready<T>> = [];
  private applying = false;
  private scheduled = false;
  /** this generation's offsets in the order fetched, each marked once settled */
  private pending: Array<{ offset: string; settled: boolean }> = [];

  constructor(private readonly steps: KeyedSteps<T>) {}

  /** Takes a batch; resolves once each of its messages is settled or dropped (see `reset`). */
  add(batch: KeyedBatch<T>): Promise<void> {
    const entries = new Map(batch.offsets.map((offset) => [offset, { offset, settled: true }]));
    for (const item of batch.items) entries.get(this.steps.offsetOf(item))!.settled = false;
    this.pending.push(...entries.values());
    const turns = batch.items.map((item) => {
      const key = this.steps.keyOf(item);
      let letNextGo!: () => void;
      const tail = new Promise<void>((resolve) => (letNextGo = resolve));
      const turn = this.turn(item, batch, this.tails.get(key) ?? Promise.resolve(), letNextGo).then((settled) => {
        const entry = entries.get(this.steps.offsetOf(item))!;
        entry.settled = settled;
        if (settled) this.advance();
      });
      this.tails.set(key, tail);
      void tail.then(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
      return turn;
    });
    this.advance();
    return Promise.all(turns).then(() => undefined);
  }

  /**
   * Starts a new generation (the partition left this member and may come back): what is under way still
   * keeps each key's order but no longer settles offsets; the messages not prepared yet are dropped.
   */
  reset(): void {
    this.pending = [];
  }

  /**
   * Prepares a message once the one before it of its key let it go, waits for it to be applied, then lets
   * the next one go (also once it is re-routed, or otherwise done with); resolves whether it is settled.
   */
  private async turn(item: T, batch: KeyedBatch<T>, previous: Promise<void>, letNextGo: () => void): Promise<boolean> {
    let released = false;
    const release = () => {
      if (!released) letNextGo();
      released = true;
    };
    try {
      await previous;
      if (!batch.current()) return false;
      let result: unknown;
      try {
        result = await batch.prepare(item);
      } catch (error) {
        // re-routed before the key's next message goes, so that one finds the key parked and cannot pass it
        return batch.current() && (await this.steps.fail(item, error, batch.current));
      }
      if (!batch.current()) return false;
      const applied = new Promise<boolean>((resolve) => this.ready.push({ item, prepared: result, current: batch.current, applied: resolve }));
      this.schedule();
      return await applied;
    } finally {
      // the key's next message goes once this one is applied or re-routed: if applying it failed and parked
      // its key, that one finds the key parked before it is prepared
      release();
    }
  }

  /** Applies what is ready on the next turn of the event loop, so messages prepared together are applied together. */
  private schedule(): void {
    if (this.scheduled || this.applying) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.applyReady();
    });
  }

  private async applyReady(): Promise<void> {
    this.applying = true;
    try {
      while (this.ready.length) {
        const taken = this.ready.splice(0);
        const live = taken.filter((entry) => entry.current());
        for (const entry of taken) if (!live.includes(entry)) entry.applied(false);
        if (!live.length) continue;
        // `apply` resolves rather than throws (it retries until done); a throw leaves the offsets unsettled, so Kafka redelivers them
        const settled = await this.steps.apply(live, live[0].current).catch(() => false);
        for (const entry of live) entry.applied(settled);
      }
    } finally {
      this.applying = false;
    }
  }

  /** Settles the partition up to the last message before the first one still under way. */
  private advance(): void {
    let last: string | undefined;
    while (this.pending.length && this.pending[0].settled) last = this.pending.shift()!.offset;
    if (last !== undefined) this.steps.settle(last);
  }
}
