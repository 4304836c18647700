import { Redis } from 'ioredis';
import { sleep } from '@upm/shared-testing';
import { LockUnavailable, RedisLocks } from './lock';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
const locks = new RedisLocks(redis, `test:${Date.now()}:lock:`);

afterAll(async () => {
  await redis.quit();
});

describe('Redis lock', () => {
  it('never lets two concurrent holders overlap', async () => {
    let inside = 0;
    let maxInside = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        locks.withLock('overlap', { ttlMs: 2000, waitMs: 10_000, retryDelayMs: 5 }, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await sleep(10);
          inside--;
          done++;
        }),
      ),
    );
    expect(done).toBe(20);
    expect(maxInside).toBe(1);
  });

  it('is not released or extended by a holder whose token is not the current one', async () => {
    const first = await locks.acquire('token', { ttlMs: 100 });
    expect(first).not.toBeNull();
    await sleep(150); // first holder's lease ran out
    const second = await locks.acquire('token', { ttlMs: 5000 });
    expect(second).not.toBeNull();
    expect(await first!.release()).toBe(false);
    expect(await first!.extend(5000)).toBe(false);
    expect(await redis.get(second!.key)).toBe(second!.token);
    expect(await locks.acquire('token', { ttlMs: 1000 })).toBeNull();
    expect(await second!.release()).toBe(true);
    expect(await redis.get(second!.key)).toBeNull();
  });

  it('frees the lock of a holder that crashed once its expiry passes', async () => {
    const crashed = await locks.acquire('crash', { ttlMs: 200 });
    expect(crashed).not.toBeNull();
    expect(await locks.acquire('crash', { ttlMs: 1000 })).toBeNull();
    const next = await locks.acquire('crash', { ttlMs: 1000, waitMs: 1000 });
    expect(next).not.toBeNull();
    expect(next!.token).not.toBe(crashed!.token);
  });

  it('keeps renewing the lock for a long holder and refuses others meanwhile', async () => {
    const holding = locks.withLock('long', { ttlMs: 150 }, async () => {
      await sleep(600); // four times the ttl
      return 'finished';
    });
    await sleep(400);
    await expect(locks.withLock('long', { ttlMs: 150 }, async () => 'intruder')).rejects.toBeInstanceOf(LockUnavailable);
    await expect(holding).resolves.toBe('finished');
    await expect(locks.withLock('long', { ttlMs: 150 }, async () => 'after')).resolves.toBe('after');
  });
});
