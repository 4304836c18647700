import { Redis } from 'ioredis';
import { within } from './within';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');

beforeAll(async () => {
  await redis.ping();
});

afterAll(async () => {
  await redis.quit();
});

/** Keeps the event loop busy, as a CPU-starved process does, without giving timers or sockets a turn. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('within', () => {
  it('gives the answer when Redis answered in time but the process was too busy to read it before the deadline', async () => {
    const answer = within(redis.ping(), 50);
    stall(200);
    await expect(answer).resolves.toBe('PONG');
  });

  it('refuses a command Redis leaves unanswered once the time has passed', async () => {
    const blocked = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
    try {
      const started = Date.now();
      await expect(within(blocked.blpop(`test:${Date.now()}:within:never`, 0), 100)).rejects.toThrow('Redis did not answer within 100 ms');
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(95);
      expect(waited).toBeLessThan(1000);
    } finally {
      blocked.disconnect();
    }
  });
});
