import { adminToken, adminTokenEnv, commonEnv, databaseEnv, databaseSettings, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';

/** Every environment variable notification reads. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3004), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_notification'),
    ...adminTokenEnv,
    /** the delay before the second attempt; each later one doubles, jittered */
    WEBHOOK_RETRY_BASE_MS: env.int(10_000, 1),
    WEBHOOK_RETRY_MAX_DELAY_MS: env.int(3_600_000, 1),
    /** how long retries go on before a delivery is dead-lettered */
    WEBHOOK_RETRY_HORIZON_MS: env.int(86_400_000, 1),
    WEBHOOK_TIMEOUT_MS: env.int(10_000, 100),
    WEBHOOK_WORKER_CONCURRENCY: env.int(50, 1),
    /** requests in flight to one endpoint from all the replicas together */
    WEBHOOK_PER_ENDPOINT_CONCURRENCY: env.int(4, 1),
    WEBHOOK_POLL_MS: env.int(500, 10),
    WEBHOOK_SECRET_OVERLAP_MS: env.int(86_400_000, 0),
    /** comma-separated base64 AES-256 keys sealing signing secrets at rest: the first seals, all open (docs/webhooks.md) */
    WEBHOOK_SECRET_KEYS: env.keyList(32),
    /** let endpoint URLs reach loopback, private, link-local and reserved addresses: for a local stack, never in production (docs/webhooks.md) */
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: env.bool(false),
    /** how long delivered, dead-lettered and cancelled deliveries stay in the delivery log (docs/webhooks.md) */
    WEBHOOK_LOG_RETENTION_DAYS: env.int(30, 1),
  },
  (e) => ({
    service: 'notification',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: kafkaSettings(e),
    database: databaseSettings(e),
    notification: {
      adminToken: adminToken(e),
      retry: { baseDelayMs: e.WEBHOOK_RETRY_BASE_MS, maxDelayMs: e.WEBHOOK_RETRY_MAX_DELAY_MS, horizonMs: e.WEBHOOK_RETRY_HORIZON_MS },
      requestTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
      workerConcurrency: e.WEBHOOK_WORKER_CONCURRENCY,
      perEndpointConcurrency: e.WEBHOOK_PER_ENDPOINT_CONCURRENCY,
      pollIntervalMs: e.WEBHOOK_POLL_MS,
      secretOverlapMs: e.WEBHOOK_SECRET_OVERLAP_MS,
      secretKeys: e.WEBHOOK_SECRET_KEYS,
      allowPrivateAddresses: e.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
      logRetentionDays: e.WEBHOOK_LOG_RETENTION_DAYS,
    },
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
