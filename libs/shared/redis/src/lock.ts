import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { within } from './within';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lock {
  readonly key: string;
  readonly token: string;
  /** frees the lock only if this holder still owns it; false when it had expired or changed hands */
  release(): Promise<boolean>;
  /** pushes the expiry out while this holder still owns it */
  extend(ttlMs: number): Promise<boolean>;
}

export interface AcquireOptions {
  ttlMs: number;
  /** how long to keep trying before giving up; 0 tries once */
  waitMs?: number;
  retryDelayMs?: number;
  /** how long each of the lock's Redis commands may go unanswered before the lock fails (see `within`); unbounded when unset */
  answerMs?: number;
}

export class LockUnavailable extends Error {
  readonly code = 'LOCK.UNAVAILABLE';
  constructor(readonly key: string) {
    super(`lock ${key} is held by another holder`);
  }
}

/**
 * Mutual exclusion over Redis: SET NX PX with a random token, released and extended only by the token's
 * owner (compare-and-delete in Lua). Expiry frees the lock of a holder that crashed.
 */
export class RedisLocks {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'lock:',
  ) {}

  async acquire(name: string, options: AcquireOptions): Promise<Lock | null> {
    const key = this.prefix + name;
    const token = randomUUID();
    const deadline = Date.now() + (options.waitMs ?? 0);
    const answered = <T>(command: Promise<T>) => (options.answerMs === undefined ? command : within(command, options.answerMs));
    for (;;) {
      if ((await answered(this.redis.set(key, token, 'PX', options.ttlMs, 'NX'))) === 'OK') return this.handle(key, token, answered);
      if (Date.now() >= deadline) return null;
      await sleep(Math.min(options.retryDelayMs ?? 25, Math.max(1, deadline - Date.now())));
    }
  }

  /**
   * Runs `work` while holding the lock, renewing it every third of its ttl so a long holder keeps it,
   * and releasing it afterwards. Throws LockUnavailable when the lock cannot be had within waitMs. A release
   * that fails (Redis gone meanwhile) leaves the lock to its ttl rather than fail work that is done.
   */
  async withLock<T>(name: string, options: AcquireOptions, work: (lock: Lock) => Promise<T>): Promise<T> {
    const lock = await this.acquire(name, options);
    if (!lock) throw new LockUnavailable(this.prefix + name);
    const renewal = setInterval(() => {
      lock.extend(options.ttlMs).catch(() => undefined);
    }, Math.max(10, Math.floor(options.ttlMs / 3)));
    try {
      return await work(lock);
    } finally {
      clearInterval(renewal);
      await lock.release().catch(() => false);
    }
  }

  private handle(key: string, token: string, answered: <T>(command: Promise<T>) => Promise<T>): Lock {
    return {
      key,
      token,
      release: async () => (await answered(this.redis.eval(RELEASE, 1, key, token))) === 1,
      extend: async (ttlMs: number) => (await answered(this.redis.eval(EXTEND, 1, key, token, String(ttlMs)))) === 1,
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
