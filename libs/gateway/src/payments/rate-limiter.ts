import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';

const HIT = `local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end return n`;

/** A fixed one-second window per terminal in Redis, shared by every gateway replica. */
@Injectable()
export class TerminalRateLimiter {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /** true when the terminal is still within `perSecond` requests this second */
  async allow(terminalId: string, perSecond: number): Promise<boolean> {
    const second = Math.floor(Date.now() / 1000);
    const count = Number(await this.redis.eval(HIT, 1, `gw:rate:{${terminalId}}:${second}`, '2000'));
    return count <= perSecond;
  }
}
