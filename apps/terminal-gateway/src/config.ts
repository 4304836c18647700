import { z } from 'zod';
import { adminToken, adminTokenEnv, commonEnv, databaseEnv, databaseSettings, defineConfig, env, kafkaEnv, kafkaSettings, redisEnv } from '@upm/shared-config';

/** Every environment variable terminal-gateway reads. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3000), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_gateway', 20), ...redisEnv,
    ...adminTokenEnv,
    GATEWAY_RATE_LIMIT_PER_SECOND: env.int(20, 1),
    POS_DEFAULT_WAIT_SECONDS: z.coerce.number().int().min(0).max(30).default(20),
    /** load shedding: refuse new payments while one accepted this long ago is still unconfirmed (0: never) */
    GATEWAY_SHED_AFTER_MS: env.int(1000, 0),
    /** and while as many wait for Alipay's first answer as a limit that shrinks when answers take longer than this (0: no limit) */
    GATEWAY_ANSWER_TARGET_MS: env.int(3000, 0),
    /** comment lines on GET /v1/terminals/me/events keep idle streams open through proxies; a POS behind by two periods is dropped */
    SSE_HEARTBEAT_MS: env.int(15_000, 100),
    /** open streams of one terminal on all the replicas together; one more closes its oldest, wherever it is */
    SSE_STREAMS_PER_TERMINAL: env.int(3, 1),
    /** how long a stream's lease outlives its replica's last renewal (each third of it): a killed replica's streams stop counting within it; under a second a busy Redis would let leases lapse between renewals */
    SSE_STREAM_LEASE_MS: env.int(30_000, 1000),
    /** how long GET /v1/terminals/me/events can replay an event (Last-Event-ID) before it is deleted */
    TERMINAL_EVENTS_RETENTION_HOURS: env.int(72, 1),
  },
  (e) => ({
    service: 'terminal-gateway',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: kafkaSettings(e),
    database: databaseSettings(e),
    redisUrl: e.REDIS_URL,
    gateway: { adminToken: adminToken(e), rateLimitPerSecond: e.GATEWAY_RATE_LIMIT_PER_SECOND, defaultWaitSeconds: e.POS_DEFAULT_WAIT_SECONDS, sseHeartbeatMs: e.SSE_HEARTBEAT_MS, shedAfterMs: e.GATEWAY_SHED_AFTER_MS,
      answerTargetMs: e.GATEWAY_ANSWER_TARGET_MS,
      terminalEventsRetentionHours: e.TERMINAL_EVENTS_RETENTION_HOURS, sseStreamsPerTerminal: e.SSE_STREAMS_PER_TERMINAL,
      sseStreamLeaseMs: e.SSE_STREAM_LEASE_MS },
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
