import { generateKeyPairSync } from 'node:crypto';
import { migrate } from '@upm/shared-database';
import { createTestTopics, eventually, recreateDatabase, RunningService, runToExit, startService, tcpProxy, TcpProxy, testKafka, uniquePrefix } from '@upm/shared-testing';
import { SERVICE_DATABASES } from '@upm/tools';

/** The six services as real processes against the real PostgreSQL, Redis and Kafka. */
const APPS = [
  { app: 'terminal-gateway', port: 3100, deps: ['postgres', 'redis', 'kafka'] },
  { app: 'payment-orchestrator', port: 3101, deps: ['postgres', 'kafka'] },
  { app: 'alipay-connector', port: 3102, deps: ['postgres', 'kafka'] },
  { app: 'settlement', port: 3103, deps: ['postgres', 'kafka'] },
  { app: 'notification', port: 3104, deps: ['postgres', 'kafka'] },
  { app: 'alipay-sandbox', port: 3110, deps: [] },
];

const prefix = uniquePrefix('boot');
const databaseUrls = new Map<string, string>();
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** what a service needs besides its database: the connector its AMS key pair */
const EXTRA: Record<string, Record<string, string>> = {
  'alipay-connector': {
    ALIPAY_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ALIPAY_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  },
};

beforeAll(async () => {
  await createTestTopics(testKafka('boot'), prefix);
  for (const entry of SERVICE_DATABASES) {
    const url = await recreateDatabase(`upm_test_boot_${entry.definition.name.replace('upm_', '')}`);
    await migrate(entry.definition, { url });
    databaseUrls.set(entry.service, url);
  }
});

function envFor(app: string, overrides: Record<string, string> = {}): Record<string, string> {
  const url = databaseUrls.get(app);
  return { KAFKA_TOPIC_PREFIX: prefix, ...(url ? { DATABASE_URL: url } : {}), ...EXTRA[app], ...overrides };
}

async function ready(service: RunningService): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const response = await fetch(`${service.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
}

describe('every service', () => {
  const running: RunningService[] = [];
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop('SIGKILL')));
  });

  it.each(APPS)('$app boots, is live and ready with its real dependencies, and serves metrics', async ({ app, port, deps }) => {
    const service = await startService(app, port, envFor(app));
    running.push(service);
    const live = await fetch(`${service.url}/health/live`);
    expect(live.status).toBe(200);
    const { status, body } = await ready(service);
    expect(status).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual([...deps].sort());
    expect(Object.values(body.checks).every((c) => c === 'up')).toBe(true);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^# HELP process_cpu_user_seconds_total/m);
    expect(metrics).toContain(`service="${app}"`);
    const unknown = await fetch(`${service.url}/no/such/route`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  }, 60_000);
});

describe('readiness follows the dependencies', () => {
  let postgres: TcpProxy;
  let redis: TcpProxy;
  let gateway: RunningService;

  beforeAll(async () => {
    postgres = await tcpProxy(5432);
    redis = await tcpProxy(6379);
    const url = new URL(databaseUrls.get('terminal-gateway')!);
    url.port = String(postgres.port);
    gateway = await startService('terminal-gateway', 3120, envFor('terminal-gateway', { DATABASE_URL: url.toString(), REDIS_URL: `redis://127.0.0.1:${redis.port}/0` }));
  });

  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await postgres?.close();
    await redis?.close();
  });

  it('reports not-ready while PostgreSQL is away and ready again when it is back', async () => {
    await postgres.cut();
    const down = await eventually(async () => {
      const r = await ready(gateway);
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.status).toBe('not-ready');
    expect(down.body.checks.postgres).toMatch(/^down/);
    expect(down.body.checks.redis).toBe('up');
    await postgres.restore();
    await eventually(async () => ((await ready(gateway)).status === 200 ? true : undefined), 20_000);
  }, 45_000);

  it('stays ready while Redis is away, naming it degraded (reads go on without it; every replica shares it), and up again when it is back', async () => {
    await redis.cut();
    const degraded = await eventually(async () => {
      const r = await ready(gateway);
      return r.body.checks.redis?.startsWith('degraded: ') ? r : undefined;
    });
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('ready');
    expect(degraded.body.checks.postgres).toBe('up');
    await redis.restore();
    await eventually(async () => ((await ready(gateway)).body.checks.redis === 'up' ? true : undefined), 20_000);
  }, 45_000);
});

describe('start and stop', () => {
  it('refuses to start with bad configuration and names every bad key', async () => {
    const { code, output } = await runToExit('payment-orchestrator', envFor('payment-orchestrator', { PORT: 'eighty', KAFKA_BROKERS: 'not a broker list', LOG_LEVEL: 'loud' }));
    expect(code).not.toBe(0);
    const fatal = JSON.parse(output.trim().split('\n').pop()!);
    expect(fatal.level).toBe('fatal');
    expect(fatal.problems.map((p: string) => p.split(':')[0]).sort()).toEqual(['KAFKA_BROKERS', 'LOG_LEVEL', 'PORT']);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const service = await startService('settlement', 3130, envFor('settlement'));
    const code = await service.stop('SIGTERM');
    expect(code).toBe(0);
    expect(service.logs.some((l) => l.msg === 'shutting down')).toBe(true);
    expect(service.logs.some((l) => l.msg === 'stopped')).toBe(true);
  }, 60_000);
});
