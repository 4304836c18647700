import { commonEnv, databaseEnv, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';

/** Every environment variable notification reads. */
export const configDefinition = defineConfig(
  { PORT: env.port(3004), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_notification') },
  (e) => ({
    service: 'notification',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: kafkaSettings(e),
    database: { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
