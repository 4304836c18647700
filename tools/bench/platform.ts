import { generateKeyPairSync, KeyObject } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { allTopics } from '@upm/contracts';
import { migrate } from '@upm/shared-database';
import { ensureTopics } from '@upm/shared-kafka';
import { recreateDatabase, RunningService, startService, uniquePrefix } from '@upm/shared-testing';
import { SERVICE_DATABASES } from '../services';
import type { BenchTerminal } from './drivers';
import { JsonHttp } from './http';

export type AppName = 'alipay-sandbox' | 'payment-orchestrator' | 'alipay-connector' | 'terminal-gateway' | 'settlement' | 'notification';

export const ADMIN_TOKEN = 'bench-admin-token-0123';
export const PLATFORM_CLIENT_ID = 'SANDBOX_UPM_BENCH';
export const DIRECT_CLIENT_ID = 'SANDBOX_POS_DIRECT';

export interface BenchTiming {
  sandboxTimeFactor: number;
  httpTimeoutMs: number;
  resultGraceMs: number;
  firstInquiryDelayMs: number;
  inquiryIntervalMs: number;
  maxInquiries: number;
  cancelRetryDelaysMs: number[];
  timerPollMs: number;
}

export interface PlatformSettings {
  basePort: number;
  timing: BenchTiming;
  poolSize?: number;
  rateLimitPerSecond?: number;
  /** caps every topic's partition count (the production counts otherwise) */
  partitions?: number;
  kafkaBrokers: string[];
  logLevel: string;
  /** each service writes a V8 CPU profile into `<profileDir>/<app>/` when it stops */
  profileDir?: string;
}


export interface BenchPlatform {
  prefix: string;
  urls: { gateway: string; sandbox: string };
  ports: Record<AppName, number>;
  services: Map<AppName, RunningService>;
  databases: Map<string, string>;
  direct: { clientId: string; privateKey: string; alipayPublicKey: string };
  stop(): Promise<void>;
}

const pem = (key: KeyObject, type: 'pkcs8' | 'spki') => key.export({ type, format: 'pem' }).toString();
const der64 = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }).toString('base64');

/**
 * The whole platform as separate processes, isolated from anything else on the machine: its own
 * databases (`upm_test_bench_*`), its own topic prefix with the production partition counts (or fewer), its own
 * ports, fresh keys and benchmark timing. Kafka, PostgreSQL and Redis are the machine's.
 */
export async function startBenchPlatform(settings: PlatformSettings, log: (line: string) => void): Promise<BenchPlatform> {
  const prefix = uniquePrefix('bench');
  const kafka = new Kafka({ clientId: 'bench', brokers: settings.kafkaBrokers, logLevel: logLevel.NOTHING });
  const cap = settings.partitions ?? Infinity;
  await ensureTopics(kafka, allTopics(prefix).map((topic) => ({ ...topic, partitions: Math.min(topic.partitions, cap) })));
  const databases = new Map<string, string>();
  for (const entry of SERVICE_DATABASES) {
    const url = await recreateDatabase(`upm_test_bench_${entry.definition.name.replace('upm_', '')}`);
    await migrate(entry.definition, { url });
    databases.set(entry.service, url);
  }
  const merchantKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const directKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sandboxKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b = settings.basePort;
  const ports: Record<AppName, number> = {
    'terminal-gateway': b, 'payment-orchestrator': b + 1, 'alipay-connector': b + 2, settlement: b + 3, notification: b + 4, 'alipay-sandbox': b + 10,
  };
  const url = (app: AppName) => `http://127.0.0.1:${ports[app]}`;
  const t = settings.timing;
  const timing = {
    ALIPAY_HTTP_TIMEOUT_MS: String(t.httpTimeoutMs),
    SAGA_RESULT_GRACE_MS: String(t.resultGraceMs),
    SAGA_FIRST_INQUIRY_DELAY_MS: String(t.firstInquiryDelayMs),
    SAGA_INQUIRY_INTERVAL_MS: String(t.inquiryIntervalMs),
    SAGA_MAX_INQUIRIES: String(t.maxInquiries),
    SAGA_CANCEL_RETRY_DELAYS_MS: t.cancelRetryDelaysMs.join(','),
    SAGA_TIMER_POLL_MS: String(t.timerPollMs),
  };
  const common: Record<string, string> = {
    LOG_LEVEL: settings.logLevel,
    KAFKA_BROKERS: settings.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    ...(settings.poolSize ? { DATABASE_POOL_SIZE: String(settings.poolSize) } : {}),
  };
  const env: Record<AppName, Record<string, string>> = {
    'alipay-sandbox': {
      LOG_LEVEL: settings.logLevel,
      SANDBOX_PRIVATE_KEY: pem(sandboxKeys.privateKey, 'pkcs8'),
      SANDBOX_CLIENTS: `${PLATFORM_CLIENT_ID}=${der64(merchantKeys.publicKey)},${DIRECT_CLIENT_ID}=${der64(directKeys.publicKey)}`,
      SANDBOX_TIME_FACTOR: String(t.sandboxTimeFactor),
      SANDBOX_REPORT_DIR: 'deploy/local/.state/bench-sandbox-reports',
    },
    'alipay-connector': {
      ...common, ...timing, DATABASE_URL: databases.get('alipay-connector')!,
      ALIPAY_BASE_URL: url('alipay-sandbox'), ALIPAY_CLIENT_ID: PLATFORM_CLIENT_ID,
      ALIPAY_PRIVATE_KEY: pem(merchantKeys.privateKey, 'pkcs8'), ALIPAY_PUBLIC_KEY: pem(sandboxKeys.publicKey, 'spki'),
      ALIPAY_NOTIFY_URL: `${url('alipay-connector')}/alipay/notify`,
    },
    'payment-orchestrator': { ...common, ...timing, DATABASE_URL: databases.get('payment-orchestrator')! },
    'terminal-gateway': {
      ...common, DATABASE_URL: databases.get('terminal-gateway')!, ADMIN_TOKEN,
      ...(settings.rateLimitPerSecond ? { GATEWAY_RATE_LIMIT_PER_SECOND: String(settings.rateLimitPerSecond) } : {}),
    },
    settlement: { ...common, DATABASE_URL: databases.get('settlement')! },
    notification: { ...common, DATABASE_URL: databases.get('notification')! },
  };
  const services = new Map<AppName, RunningService>();
  const stop = async () => {
    await Promise.all([...services.values()].map(async (s) => {
      const killer = setTimeout(() => s.child.kill('SIGKILL'), 8000);
      await s.stop('SIGTERM');
      clearTimeout(killer);
    }));
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.deleteTopics({ topics: allTopics(prefix).map((topic) => topic.name) });
    } catch {
      // topics under a unique prefix are harmless if the broker refuses to delete them
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  try {
    for (const app of ['alipay-sandbox', 'payment-orchestrator', 'alipay-connector', 'terminal-gateway', 'settlement', 'notification'] as const) {
      log(`starting ${app} on :${ports[app]}`);
      const nodeArgs = settings.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(settings.profileDir, app)}`] : [];
      services.set(app, await startService(app, ports[app], env[app], { readyTimeoutMs: 60_000, nodeArgs }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    prefix,
    urls: { gateway: url('terminal-gateway'), sandbox: url('alipay-sandbox') },
    ports,
    services,
    databases,
    direct: { clientId: DIRECT_CLIENT_ID, privateKey: pem(directKeys.privateKey, 'pkcs8'), alipayPublicKey: pem(sandboxKeys.publicKey, 'spki') },
    stop,
  };
}

/** N stores × M terminals across `merchants` chains, onboarded in one `POST /v1/admin/import`. */
export async function onboard(gateway: JsonHttp, stores: number, terminalsPerStore: number, merchants: number): Promise<BenchTerminal[]> {
  const lines = ['merchantId,merchantName,merchantMcc,storeId,storeName,storeMcc,terminalId'];
  for (let s = 0; s < stores; s++) {
    const m = s % merchants;
    for (let t = 0; t < terminalsPerStore; t++) {
      lines.push(`bench-m${m},Bench Chain ${m},5812,bench-s${s},Bench Store ${s},5812,bench-s${s}-t${t}`);
    }
  }
  const answer = await gateway.request('POST', '/v1/admin/import', { token: ADMIN_TOKEN, body: `${lines.join('\n')}\n`, type: 'text/csv', timeoutMs: 300_000 });
  if (answer.status !== 200) throw new Error(`import: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`);
  const byTerminal = new Map(lines.slice(1).map((line) => {
    const [merchantId, , , storeId, , , terminalId] = line.split(',');
    return [terminalId, { merchantId, storeId }];
  }));
  const terminals = (answer.body.terminals as Array<{ terminalId: string; storeId: string; key: string }>).map((t) => ({ ...t, merchantId: byTerminal.get(t.terminalId)!.merchantId }));
  if (terminals.length !== stores * terminalsPerStore) throw new Error(`import created ${terminals.length} terminals, expected ${stores * terminalsPerStore}`);
  return terminals;
}
