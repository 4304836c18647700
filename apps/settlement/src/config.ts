import { commonEnv, databaseEnv, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';

/** Every environment variable settlement reads. */
export const configDefinition = defineConfig(
  { PORT: env.port(3003), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_settlement') },
  (e) => ({
    service: 'settlement',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: kafkaSettings(e),
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
