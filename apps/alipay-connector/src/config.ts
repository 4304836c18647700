import { z } from 'zod';
import { adminToken, adminTokenEnv, commonEnv, ConfigError, databaseEnv, databaseSettings, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';
import { KeyFormatError, loadPrivateKey, loadPublicKey } from '@upm/alipay';
import { signedNotifyPath } from '@upm/connector';

/** Every environment variable alipay-connector reads. Keys come inline (PEM or Base64 DER) or from files. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3002), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_connector'),
    ...adminTokenEnv,
    ALIPAY_BASE_URL: env.url('http://127.0.0.1:3010'),
    ALIPAY_CLIENT_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('SANDBOX_UPM_LOCAL'),
    ALIPAY_KEY_VERSION: env.string('1'),
    ALIPAY_PRIVATE_KEY: z.string().min(1).optional(),
    ALIPAY_PRIVATE_KEY_FILE: env.fileContent().optional(),
    ALIPAY_PUBLIC_KEY: z.string().min(1).optional(),
    ALIPAY_PUBLIC_KEY_FILE: env.fileContent().optional(),
    /** Alipay public keys retired by a rotation, comma-separated (PEM or Base64 DER): for replays of kept notifications only */
    ALIPAY_RETIRED_PUBLIC_KEYS: z.string().optional(),
    ALIPAY_HTTP_TIMEOUT_MS: env.int(8000, 1),
    ALIPAY_MAX_CONCURRENCY: env.int(64, 1),
    ALIPAY_NOTIFY_URL: z.url().optional(),
    /** days a signed notification the connector could not read is kept after Alipay last sent it */
    UNPARSABLE_NOTIFICATIONS_RETENTION_DAYS: env.int(30, 1),
  },
  (e) => ({
    service: 'alipay-connector',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS, rawBody: true },
    kafka: kafkaSettings(e),
    database: databaseSettings(e),
    connector: {
      baseUrl: e.ALIPAY_BASE_URL,
      timeoutMs: e.ALIPAY_HTTP_TIMEOUT_MS,
      maxConcurrency: e.ALIPAY_MAX_CONCURRENCY,
      notifyUrl: e.ALIPAY_NOTIFY_URL,
      notifyPath: signedNotifyPath(e.ALIPAY_NOTIFY_URL),
      adminToken: adminToken(e),
      unparsableRetentionDays: e.UNPARSABLE_NOTIFICATIONS_RETENTION_DAYS,
      retiredAlipayPublicKeys: (e.ALIPAY_RETIRED_PUBLIC_KEYS ?? '').split(',').map((key) => key.trim()).filter((key) => key !== '')
        .map((key, index) => usable(key, loadPublicKey, `ALIPAY_RETIRED_PUBLIC_KEYS (key ${index + 1})`)),
      credentials: [{
        clientId: e.ALIPAY_CLIENT_ID,
        keyVersion: e.ALIPAY_KEY_VERSION,
        privateKey: usable(
          required(e.ALIPAY_PRIVATE_KEY ?? e.ALIPAY_PRIVATE_KEY_FILE, 'ALIPAY_PRIVATE_KEY or ALIPAY_PRIVATE_KEY_FILE'),
          loadPrivateKey,
          e.ALIPAY_PRIVATE_KEY ? 'ALIPAY_PRIVATE_KEY' : 'ALIPAY_PRIVATE_KEY_FILE',
        ),
        alipayPublicKey: usable(
          required(e.ALIPAY_PUBLIC_KEY ?? e.ALIPAY_PUBLIC_KEY_FILE, 'ALIPAY_PUBLIC_KEY or ALIPAY_PUBLIC_KEY_FILE'),
          loadPublicKey,
          e.ALIPAY_PUBLIC_KEY ? 'ALIPAY_PUBLIC_KEY' : 'ALIPAY_PUBLIC_KEY_FILE',
        ),
      }],
    },
  }),
);

function required(value: string | undefined, names: string): string {
  if (!value) throw new ConfigError([`${names}: required`]);
  return value;
}

/** The key as given, once it loads: a key that does not stops start-up naming the variable that held it. */
function usable(key: string, load: (key: string) => unknown, variable: string): string {
  try {
    load(key);
  } catch (error) {
    if (error instanceof KeyFormatError) throw new ConfigError([`${variable}: ${error.message}`]);
    throw error;
  }
  return key;
}

export type AppConfig = ReturnType<typeof configDefinition.map>;
