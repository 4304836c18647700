import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './config';

/** Building blocks for the app schemas, so that every service reads common settings the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  url: (fallback: string) => z.url().default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** a comma-separated list of non-negative integers, e.g. `2000,3000,3000` */
  intList: (fallback: string) =>
    z
      .string()
      .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'a comma-separated list of integers')
      .default(fallback)
      .transform((v) => v.split(',').map((n) => Number(n.trim()))),
  /** the content of the file the variable names (keys, certificates), read once at boot */
  fileContent: () =>
    z.string().min(1).transform((path, ctx) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
        return z.NEVER;
      }
    }),
  /** comma-separated base64 keys of `bytes` bytes each (none when unset) */
  keyList: (bytes: number) =>
    z
      .string()
      .default('')
      .transform((v, ctx) => {
        const keys = v.split(',').map((k) => k.trim()).filter(Boolean).map((k) => Buffer.from(k, 'base64'));
        if (keys.some((key) => key.length !== bytes)) {
          ctx.addIssue({ code: 'custom', message: `each key must be ${bytes} bytes, base64 (e.g. openssl rand -base64 ${bytes})` });
          return z.NEVER;
        }
        return keys;
      }),
  brokers: (fallback: string) =>
    z
      .string()
      .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'host:port[,host:port…]')
      .default(fallback)
      .transform((v) => v.split(',')),
};

/** The variables every service reads. */
export const commonEnv = {
  LOG_LEVEL: env.logLevel(),
  HOST: env.string('127.0.0.1'),
  SHUTDOWN_GRACE_MS: env.int(10_000),
};

export const kafkaEnv = {
  KAFKA_BROKERS: env.brokers('127.0.0.1:9092'),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-z0-9._-]*$/).default(''),
  /** how long a consumer group waits for a member that went silent (a killed pod) before moving its partitions */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  /** how long consumers remember a processed message id: longer than any topic's retention (Kafka's default is 7 days) */
  INBOX_RETENTION_HOURS: z.coerce.number().int().min(1).default(336),
};

/** The Kafka settings every service maps from `kafkaEnv`. */
export function kafkaSettings(e: { KAFKA_BROKERS: string[]; KAFKA_TOPIC_PREFIX: string; KAFKA_SESSION_TIMEOUT_MS: number; INBOX_RETENTION_HOURS: number }) {
  return { brokers: e.KAFKA_BROKERS, topicPrefix: e.KAFKA_TOPIC_PREFIX, sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS, inboxRetentionHours: e.INBOX_RETENTION_HOURS };
}

export const redisEnv = { REDIS_URL: env.url('redis://127.0.0.1:6379/0') };

export const databaseEnv = (database: string, poolSize = 10) => ({
  DATABASE_URL: env.url(`postgres://postgres@127.0.0.1:5432/${database}`),
  DATABASE_POOL_SIZE: env.int(poolSize, 1),
  /** hot statements prepared once per connection; false behind a pooler that cannot keep them (PgBouncer before 1.21) */
  DATABASE_PREPARED_STATEMENTS: env.bool(true),
});

/** The database settings every service with a database maps from `databaseEnv`. */
export function databaseSettings(e: { DATABASE_URL: string; DATABASE_POOL_SIZE: number; DATABASE_PREPARED_STATEMENTS: boolean }) {
  return { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, preparedStatements: e.DATABASE_PREPARED_STATEMENTS };
}

/** The token an admin API accepts when none is configured outside production (README, docker/compose.yaml). */
export const DEV_ADMIN_TOKEN = 'dev-admin-token';

/** The admin APIs' bearer token, with NODE_ENV (the image sets `production`) to decide whether it may fall back. */
export const adminTokenEnv = {
  NODE_ENV: z.string().optional(),
  ADMIN_TOKEN: z.string().min(12, 'at least 12 characters').optional(),
};

/**
 * The admin token: ADMIN_TOKEN, or outside production the published development token. In production an
 * unset token stops the service: falling back would open the admin API to anyone who read the README.
 */
export function adminToken(e: { NODE_ENV?: string; ADMIN_TOKEN?: string }): string {
  if (e.ADMIN_TOKEN) return e.ADMIN_TOKEN;
  if (e.NODE_ENV === 'production') throw new ConfigError(['ADMIN_TOKEN: required when NODE_ENV=production']);
  return DEV_ADMIN_TOKEN;
}
