import { commonEnv, defineConfig, env } from '@upm/shared-config';

/** Every environment variable alipay-sandbox reads. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3010),
    ...commonEnv,
    SANDBOX_LATENCY_MS: env.int(0),
    SANDBOX_TIME_FACTOR: env.int(1, 1),
    SANDBOX_REPORT_DIR: env.string('deploy/local/.state/sandbox-reports'),
  },
  (e) => ({
    service: 'alipay-sandbox',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    latencyMs: e.SANDBOX_LATENCY_MS,
    timeFactor: e.SANDBOX_TIME_FACTOR,
    reportDir: e.SANDBOX_REPORT_DIR,
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
