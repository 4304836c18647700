/**
 * The sandbox's notion of "now" for everything Alipay would timestamp: payment and refund times, the cancel
 * and refund windows, report days. Tests move it (in process, or through POST /sandbox/clock) to reach
 * tomorrow's 00:15 without waiting; the delays of PIN entry and retries stay on the real timer.
 */
export class SandboxClock {
  private offsetMs = 0;

  constructor(private readonly realNow: () => number = Date.now) {}

  now(): Date {
    return new Date(this.realNow() + this.offsetMs);
  }

  advance(ms: number): Date {
    this.offsetMs += ms;
    return this.now();
  }

  set(instant: Date): Date {
    this.offsetMs = instant.getTime() - this.realNow();
    return this.now();
  }

  reset(): Date {
    this.offsetMs = 0;
    return this.now();
  }

  get offset(): number {
    return this.offsetMs;
  }
}
