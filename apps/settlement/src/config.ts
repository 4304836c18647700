import { z } from 'zod';
import { adminToken, adminTokenEnv, commonEnv, databaseEnv, databaseSettings, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';
import { FixedFees, parseFixedFees } from '@upm/contracts';

/** Every environment variable settlement reads. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3003), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_settlement'),
    ...adminTokenEnv,
    /** the finance API's own token; ADMIN_TOKEN when unset */
    SETTLEMENT_ADMIN_TOKEN: z.string().min(12, 'at least 12 characters').optional(),
    /**
     * the fixed part of Alipay's commission per payment and per refund in minor units (the sandbox's and Antom
     * sandbox's: 10), or per currency: `HKD:10,JPY:1`, with at most one bare figure for the currencies not named
     */
    SETTLEMENT_FEE_MINOR: z.string().default('10').superRefine((text, ctx) => {
      const fees = parseFixedFees(text);
      if ('problem' in fees) ctx.addIssue({ code: 'custom', message: fees.problem });
    }),
    /** the rate part of Alipay's commission, basis points of the gross (220 = 2.2 %) */
    SETTLEMENT_FEE_RATE_BPS: z.coerce.number().int().min(0).max(10_000).default(0),
    SETTLEMENT_REPORT_DIR: z.string().min(1).optional(),
    SETTLEMENT_POLL_INTERVAL_MS: env.int(300_000),
    SETTLEMENT_SFTP_HOST: z.string().min(1).optional(),
    SETTLEMENT_SFTP_PORT: env.port(22),
    SETTLEMENT_SFTP_USERNAME: z.string().min(1).optional(),
    SETTLEMENT_SFTP_PRIVATE_KEY_FILE: env.fileContent().optional(),
    SETTLEMENT_SFTP_PASSWORD: z.string().min(1).optional(),
    SETTLEMENT_SFTP_REMOTE_DIR: z.string().min(1).default('/v1/settlements'),
    SETTLEMENT_SFTP_HOST_KEY_SHA256: z.string().min(1).optional(),
  },
  (e) => ({
    service: 'settlement',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: kafkaSettings(e),
    database: databaseSettings(e),
    settlement: {
      adminToken: e.SETTLEMENT_ADMIN_TOKEN ?? adminToken(e),
      producer: 'settlement',
      // read as checked above: the variable stays text in the schema, so the deploy checks compare it with the chart's as such
      ...(parseFixedFees(e.SETTLEMENT_FEE_MINOR) as FixedFees),
      feeRateBps: e.SETTLEMENT_FEE_RATE_BPS,
      reportDir: e.SETTLEMENT_REPORT_DIR,
      pollIntervalMs: e.SETTLEMENT_POLL_INTERVAL_MS,
      sftp: e.SETTLEMENT_SFTP_HOST
        ? {
            host: e.SETTLEMENT_SFTP_HOST,
            port: e.SETTLEMENT_SFTP_PORT,
            username: e.SETTLEMENT_SFTP_USERNAME ?? 'alipay',
            privateKey: e.SETTLEMENT_SFTP_PRIVATE_KEY_FILE,
            password: e.SETTLEMENT_SFTP_PASSWORD,
            remoteDir: e.SETTLEMENT_SFTP_REMOTE_DIR,
            hostKeySha256: e.SETTLEMENT_SFTP_HOST_KEY_SHA256,
          }
        : undefined,
    },
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
