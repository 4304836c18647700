import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Readiness } from '@upm/shared-runtime';
import { RedisLocks } from './lock';

/**
 * The service's Redis client. Commands issued in the same turn of the event loop, or while the previous
 * ones are still on the wire, go out together in one write (auto-pipelining): a read-model batch's
 * wake-ups and the POS requests parsed together then cost one system call instead of one each.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false, connectTimeout: 3000, enableAutoPipelining: true });
}

@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export interface RedisModuleOptions {
  /** false: the service stays ready while Redis is away, which readiness reports as `degraded` (default true) */
  requiredForReadiness?: boolean;
}

/** The service's Redis connection and lock helper; readiness pings Redis. */
@Global()
@Module({})
export class RedisModule {
  static forRoot(url: string, keyPrefix: string, options: RedisModuleOptions = {}): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: Redis,
          inject: [Readiness],
          useFactory: (readiness: Readiness) => {
            const redis = createRedis(url);
            redis.on('error', () => undefined); // reconnects on its own; readiness reports the outage
            readiness.register('redis', async () => {
              if ((await redis.ping()) !== 'PONG') throw new Error('no PONG');
            }, { required: options.requiredForReadiness ?? true });
            return redis;
          },
        },
        { provide: RedisLocks, inject: [Redis], useFactory: (redis: Redis) => new RedisLocks(redis, `${keyPrefix}lock:`) },
        RedisLifecycle,
      ],
      exports: [Redis, RedisLocks],
    };
  }
}
