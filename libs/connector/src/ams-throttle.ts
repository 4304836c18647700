const TRAFFIC_LIMIT = 'REQUEST_TRAFFIC_EXCEED_LIMIT';

/** What the throttle reads of an AMS call's result. */
export interface ThrottleSignal {
  resultCode: string;
  /** what an answer not taken at its word claimed */
  claimedResult?: { resultCode: string };
  exchange?: { httpStatus?: number };
}

/**
 * Caps concurrent AMS calls and backs off when Alipay asks to slow down (REQUEST_TRAFFIC_EXCEED_LIMIT, even
 * in an answer not trusted otherwise, or HTTP 429: slowing down is safe either way): every call then waits
 * until the pause is over, and the pause doubles while the answers keep coming (up to maxPauseMs).
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

  async run<T extends ThrottleSignal>(call: () => Promise<T>): Promise<T> {
    await this.slot();
    try {
      const wait = this.pausedUntil - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const result = await call();
      if (result.resultCode === TRAFFIC_LIMIT || result.claimedResult?.resultCode === TRAFFIC_LIMIT || result.exchange?.httpStatus === 429) {
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
