/**
 * The sandbox's pending delays (hung answers, PIN entry, notification retries), so that closing the
 * sandbox ends them all at once instead of keeping the process alive.
 */
export class TimerSet {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly onTaskError: (error: unknown) => void = () => undefined) {}

  /** true once the delay has passed; false when the sandbox closed first */
  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve(true);
      }, ms);
      this.pending.set(timer, () => resolve(false));
    });
  }

  /** runs `task` after `ms` unless the sandbox closes first */
  after(ms: number, task: () => void): void {
    this.sleep(ms)
      .then((elapsed) => {
        if (elapsed) task();
      })
      .catch(this.onTaskError);
  }

  get size(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const [timer, cancel] of this.pending) {
      clearTimeout(timer);
      cancel();
    }
    this.pending.clear();
  }
}
