import { generateKeyPairSync } from 'node:crypto';
import { migrate } from '@upm/shared-database';
import { createTestTopics, recreateDatabase, RunningService, startService, testKafka, uniquePrefix } from '@upm/shared-testing';
import { SERVICE_DATABASES } from '@upm/tools';
import { PosClient } from './pos-client';

export const ADMIN_TOKEN = 'e2e-admin-token-0123';
const CLIENT_ID = 'SANDBOX_UPM_E2E';

/** Timing shortened for tests (CONTRACTS.md §3); the defaults stay as the spec says. */
export const FAST_TIMING = {
  ALIPAY_HTTP_TIMEOUT_MS: '1000',
  SAGA_RESULT_GRACE_MS: '1000',
  SAGA_FIRST_INQUIRY_DELAY_MS: '1500',
  SAGA_INQUIRY_INTERVAL_MS: '300',
  SAGA_MAX_INQUIRIES: '5',
  SAGA_CANCEL_RETRY_DELAYS_MS: '200,300,300,500,500',
  SAGA_REFUND_INQUIRY_DELAYS_MS: '200,400,800',
  SAGA_TIMER_POLL_MS: '50',
};

export type AppName = 'alipay-sandbox' | 'payment-orchestrator' | 'alipay-connector' | 'terminal-gateway' | 'settlement' | 'notification';

export interface Platform {
  prefix: string;
  services: Map<AppName, RunningService>;
  urls: Record<'gateway' | 'sandbox' | 'connector', string>;
  env: Record<AppName, Record<string, string>>;
  ports: Record<AppName, number>;
  admin: AdminClient;
  /** a fresh merchant with one store and one terminal */
  onboard(name: string): Promise<PosClient>;
  sandboxPayment(paymentRequestId: string): Promise<SandboxPayment | undefined>;
  start(app: AppName): Promise<RunningService>;
  stop(): Promise<void>;
}

export interface SandboxPayment {
  status: string;
  calls: { pay: number; inquiryPayment: number; cancel: number; refund: number; inquiryRefund: number };
  refundedAmount?: { currency: string; value: string };
  refunds?: Array<{ refundRequestId: string; status: string; amount: { value: string } }>;
  notifications?: unknown[];
}

/**
 * Starts the sandbox, orchestrator, connector and gateway as real processes on their own databases and
 * topic prefix, with fresh key pairs and shortened timing. `basePort` keeps suites apart.
 */
export async function startPlatform(suite: string, basePort: number, extraEnv: Partial<Record<AppName, Record<string, string>>> = {}): Promise<Platform> {
  const prefix = uniquePrefix(suite);
  await createTestTopics(testKafka(suite), prefix);
  const databases = new Map<string, string>();
  for (const entry of SERVICE_DATABASES) {
    const url = await recreateDatabase(`upm_test_${suite.replace(/\W/g, '_')}_${entry.definition.name.replace('upm_', '')}`);
    await migrate(entry.definition, { url });
    databases.set(entry.service, url);
  }
  const merchantKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sandboxKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = (key: import('node:crypto').KeyObject, type: 'pkcs8' | 'spki') => key.export({ type, format: 'pem' }).toString();
  const ports: Record<AppName, number> = {
    'terminal-gateway': basePort, 'payment-orchestrator': basePort + 1, 'alipay-connector': basePort + 2,
    settlement: basePort + 3, notification: basePort + 4, 'alipay-sandbox': basePort + 10,
  };
  const url = (app: AppName) => `http://127.0.0.1:${ports[app]}`;
  // a killed service's partitions move on after 6 s instead of 30 s
  const common = { KAFKA_TOPIC_PREFIX: prefix, KAFKA_SESSION_TIMEOUT_MS: '6000' };
  const env: Record<AppName, Record<string, string>> = {
    'alipay-sandbox': {
      SANDBOX_PRIVATE_KEY: pem(sandboxKeys.privateKey, 'pkcs8'),
      SANDBOX_CLIENTS: `${CLIENT_ID}=${merchantKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
      SANDBOX_TIME_FACTOR: '10',
      ...extraEnv['alipay-sandbox'],
    },
    'alipay-connector': {
      ...common, ...FAST_TIMING, DATABASE_URL: databases.get('alipay-connector')!,
      ALIPAY_BASE_URL: url('alipay-sandbox'), ALIPAY_CLIENT_ID: CLIENT_ID,
      ALIPAY_PRIVATE_KEY: pem(merchantKeys.privateKey, 'pkcs8'), ALIPAY_PUBLIC_KEY: pem(sandboxKeys.publicKey, 'spki'),
      // with a query string, which Alipay signs as part of the path
      ALIPAY_NOTIFY_URL: `${url('alipay-connector')}/alipay/notify?channel=ams`,
      ...extraEnv['alipay-connector'],
    },
    'payment-orchestrator': { ...common, ...FAST_TIMING, DATABASE_URL: databases.get('payment-orchestrator')!, ...extraEnv['payment-orchestrator'] },
    'terminal-gateway': { ...common, DATABASE_URL: databases.get('terminal-gateway')!, ADMIN_TOKEN, GATEWAY_RATE_LIMIT_PER_SECOND: '1000', ...extraEnv['terminal-gateway'] },
    settlement: { ...common, DATABASE_URL: databases.get('settlement')!, ...extraEnv.settlement },
    notification: { ...common, DATABASE_URL: databases.get('notification')!, WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true', ...extraEnv.notification },
  };
  const services = new Map<AppName, RunningService>();
  const start = async (app: AppName) => {
    const service = await startService(app, ports[app], env[app]);
    services.set(app, service);
    return service;
  };
  for (const app of ['alipay-sandbox', 'payment-orchestrator', 'alipay-connector', 'terminal-gateway'] as const) await start(app);
  const admin = new AdminClient(url('terminal-gateway'));
  return {
    prefix,
    services,
    env,
    ports,
    urls: { gateway: url('terminal-gateway'), sandbox: url('alipay-sandbox'), connector: url('alipay-connector') },
    admin,
    start,
    async onboard(name: string) {
      const merchant = await admin.post('/v1/admin/merchants', { name, mcc: '5812' });
      const store = await admin.post(`/v1/admin/merchants/${merchant.merchantId}/stores`, { name: `${name} Central`, mcc: '5812' });
      const terminal = await admin.post(`/v1/admin/stores/${store.storeId}/terminals`, {});
      return new PosClient(url('terminal-gateway'), String(terminal.key), { merchantId: String(merchant.merchantId), storeId: String(store.storeId), terminalId: String(terminal.terminalId) });
    },
    async sandboxPayment(paymentRequestId: string) {
      const response = await fetch(`${url('alipay-sandbox')}/sandbox/payments/${paymentRequestId}`);
      return response.status === 200 ? ((await response.json()) as SandboxPayment) : undefined;
    },
    async stop() {
      await Promise.all([...services.values()].map((s) => s.stop('SIGKILL')));
    },
  };
}

export class AdminClient {
  constructor(private readonly baseUrl: string) {}

  async post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(this.baseUrl + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 300) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }
}
