import { commonEnv, databaseEnv, defineConfig, env, kafkaEnv, redisEnv } from '@upm/shared-config';

/** Every environment variable terminal-gateway reads. */
export const configDefinition = defineConfig(
  { PORT: env.port(3000), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_gateway'), ...redisEnv },
  (e) => ({
    service: 'terminal-gateway',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: { brokers: e.KAFKA_BROKERS, topicPrefix: e.KAFKA_TOPIC_PREFIX },
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
    redisUrl: e.REDIS_URL,
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
