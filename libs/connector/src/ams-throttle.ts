/**
 * Caps concurrent AMS calls and backs off when Alipay answers REQUEST_TRAFFIC_EXCEED_LIMIT: every call
 * then waits until the pause is over, and the pause doubles while the answers keep coming (up to maxPauseMs).
 */
export class AmsThrottle {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private pausedUntil = 0;
  private pauseMs: number;

  constructor(
    private readonly maxConcurrency: number,
    private readonly basePauseMs = 200,
    private readonly maxPauseMs = 5000,
  ) {
    this.pauseMs = basePauseMs;
  }

  get inFlight(): number {
    return this.active;
  }

  async run<T extends { resultCode: string }>(call: () => Promise<T>): Promise<T> {
    await this.slot();
    try {
      const wait = this.pausedUntil - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const result = await call();
      if (result.resultCode === 'REQUEST_TRAFFIC_EXCEED_LIMIT') {
        this.pausedUntil = Date.now() + this.pauseMs;
        this.pauseMs = Math.min(this.pauseMs * 2, this.maxPauseMs);
      } else {
        this.pauseMs = this.basePauseMs;
      }
      return result;
    } finally {
      // hand the slot straight to the next waiter, so no newcomer can slip in between
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }

  private async slot(): Promise<void> {
    if (this.active < this.maxConcurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
}
