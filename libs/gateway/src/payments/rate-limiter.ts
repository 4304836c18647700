import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { type Logger, Metrics } from '@upm/shared-observability';
import { within } from '@upm/shared-redis';
import { LOGGER } from '@upm/shared-runtime';

const HIT = `local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end return n`;
/** How long a request waits for Redis' count before it counts on its own (see `within`). */
const REDIS_ANSWER_MS = 250;

/**
 * A terminal's requests in the current second on this replica alone. Only the current second is kept: the
 * counts of every terminal go at once when the second turns, so memory follows the terminals of one second.
 */
export class LocalWindow {
  private second = 0;
  private readonly counts = new Map<string, number>();

  /** counts one request of the terminal in `second`; answers its count so far in that second */
  hit(terminalId: string, second: number): number {
    if (second !== this.second) {
      this.second = second;
      this.counts.clear();
    }
    const count = (this.counts.get(terminalId) ?? 0) + 1;
    this.counts.set(terminalId, count);
    return count;
  }
}

/**
 * A fixed one-second window per terminal in Redis, shared by every gateway replica. While Redis cannot be
 * reached, or does not answer within REDIS_ANSWER_MS, each replica counts a terminal's requests on its own,
 * with the same limit: reads need nothing else from Redis and go on, and a misbehaving terminal is still held
 * to the limit on each replica it reaches (at most replicas × limit in all, and a POS usually keeps its
 * connection to one). The fallback is logged as it starts and ends, and every request it counts adds to
 * `upm_gateway_rate_limit_local_total`.
 */
@Injectable()
export class TerminalRateLimiter {
  private readonly local = new LocalWindow();
  private readonly countedLocally;
  /** whether the last count was this replica's own, Redis being away: the log tells when that changes */
  private alone = false;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(Metrics) metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.countedLocally = metrics.counter('upm_gateway_rate_limit_local_total', 'POS requests whose rate limit this replica counted on its own, Redis being unreachable');
  }

  /** true when the terminal is still within `perSecond` requests this second */
  async allow(terminalId: string, perSecond: number): Promise<boolean> {
    const second = Math.floor(Date.now() / 1000);
    return (await this.count(terminalId, second)) <= perSecond;
  }

  private async count(terminalId: string, second: number): Promise<number> {
    // a connection that is not ready would queue the command until its reconnection attempts run out: the
    // request would wait seconds for an answer it can have now
    if (this.redis.status === 'ready') {
      try {
        const count = Number(await within(this.redis.eval(HIT, 1, `gw:rate:{${terminalId}}:${second}`, '2000'), REDIS_ANSWER_MS));
        if (this.alone) this.logger.info('rate limits are counted in Redis again, across the replicas');
        this.alone = false;
        return count;
      } catch (error) {
        this.countAlone(error);
      }
    } else {
      this.countAlone(new Error(`Redis connection ${this.redis.status}`));
    }
    this.countedLocally.inc();
    return this.local.hit(terminalId, second);
  }

  private countAlone(error: unknown): void {
    if (!this.alone) this.logger.warn({ err: error }, 'Redis unreachable: each replica counts the rate limits of its terminals on its own until it is back');
    this.alone = true;
  }
}
