import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DataSource } from 'typeorm';
import { AmsClient, formatAmsTime, signedResponseHeaders } from '@upm/alipay';
import { createEnvelope, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import { createLogger, Metrics } from '@upm/shared-observability';
import { freshDatabase, LoopbackServer } from '@upm/shared-testing';
import { ConnectorService } from './connector.service';
import { CONNECTOR_DATABASE } from './database';

const CLIENT_ID = 'CLIENT_MISCONFIGURED';
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });

/**
 * Alipay as it answers a request signed with a key it does not hold: INVALID_SIGNATURE / F with no signature
 * header (spec §2.5, §15); or, with `signWith`, an answer signed by a key the connector does not expect.
 */
class RefusingAms extends LoopbackServer {
  signWith: typeof stranger.privateKey | undefined;

  protected onRequest(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ result: { resultCode: 'INVALID_SIGNATURE', resultStatus: 'F', resultMessage: 'The signature does not verify.' } });
      const headers = this.signWith
        ? signedResponseHeaders({ path: req.url ?? '', clientId: CLIENT_ID, time: formatAmsTime(new Date()), body, privateKey: this.signWith })
        : { 'content-type': 'application/json; charset=UTF-8' };
      res.writeHead(200, headers).end(body);
    });
  }
}

let dataSource: DataSource;
let ams: RefusingAms;
let client: AmsClient;
let metrics: Metrics;
let connector: ConnectorService;
const logs: Array<{ level: string; msg: string; problem?: string }> = [];

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_connector_untrusted', CONNECTOR_DATABASE));
  ams = await new RefusingAms().listen();
  client = new AmsClient({ baseUrl: `http://127.0.0.1:${ams.port}`, credentials: { clientId: CLIENT_ID, privateKey: merchant.privateKey, alipayPublicKey: alipay.publicKey }, timeoutMs: 2000 });
  metrics = new Metrics('test');
  const logger = createLogger('alipay-connector', 'info', { write: (line: string) => logs.push(JSON.parse(line) as (typeof logs)[number]) });
  connector = new ConnectorService(client, dataSource, { notifyPath: '/alipay/notify', maxConcurrency: 2 }, logger, metrics);
});

afterAll(async () => {
  client.close();
  await ams.close();
  await dataSource.destroy();
});

function pay(paymentId: string) {
  const example = MESSAGE_EXAMPLES[TOPICS.alipayCommands.name].Pay as object;
  return createEnvelope({ type: 'Pay', key: paymentId, producer: 'payment-orchestrator', data: { ...example, paymentId, paymentRequestId: paymentId } });
}

async function untrustedCount(labels: string): Promise<number> {
  const line = (await metrics.text()).split('\n').find((l) => l.startsWith(`upm_alipay_untrusted_answers_total{${labels}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** The exposed value of one series, undefined while it is not exposed at all. */
async function exposed(labels: string): Promise<number | undefined> {
  const line = (await metrics.text()).split('\n').find((l) => l.startsWith(`upm_alipay_untrusted_answers_total{${labels},service="test"} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('AMS answers the connector cannot trust (a wrong key or client id)', () => {
  it('shows the answers a wrong key or client id brings, for every api, at 0 from start-up: the first one counts in increase()', async () => {
    // before any call: the series UpmAlipayAnswersUntrusted sums are there to grow from 0
    for (const api of ['pay', 'inquiryPayment', 'cancel', 'refund', 'inquiryRefund']) {
      for (const code of ['INVALID_SIGNATURE', 'INVALID_CLIENT', 'KEY_NOT_FOUND', 'NONE']) expect(await exposed(`api="${api}",problem="UNSIGNED_RESPONSE",result_code="${code}"`)).toBe(0);
      expect(await exposed(`api="${api}",problem="INVALID_RESPONSE_SIGNATURE",result_code="SUCCESS"`)).toBe(0);
    }
    // under a wrong Alipay public key, a pay or a refund mostly claims to be in process (spec §4, §7), and only those
    // APIs can claim it
    for (const [api, code] of [['pay', 'PAYMENT_IN_PROCESS'], ['refund', 'REFUND_IN_PROCESS']]) {
      expect(await exposed(`api="${api}",problem="INVALID_RESPONSE_SIGNATURE",result_code="${code}"`)).toBe(0);
    }
    expect(await exposed('api="inquiryPayment",problem="INVALID_RESPONSE_SIGNATURE",result_code="PAYMENT_IN_PROCESS"')).toBeUndefined();
    expect(await exposed('api="pay",problem="INVALID_RESPONSE_SIGNATURE",result_code="REFUND_IN_PROCESS"')).toBeUndefined();
  });

  it('leaves an unsigned INVALID_SIGNATURE / F unknown, but counts it by api and claimed code and logs the likely cause', async () => {
    ams.signWith = undefined;
    const answer = await connector.call(pay(`pay_unsigned_${Date.now().toString(36)}`));

    expect((answer.data as { outcome: string }).outcome).toBe('U');
    expect(await untrustedCount('api="pay",problem="UNSIGNED_RESPONSE",result_code="INVALID_SIGNATURE"')).toBe(1);
    const line = logs.find((entry) => entry.problem === 'UNSIGNED_RESPONSE');
    expect(line?.level).toBe('error');
    expect(line?.msg).toContain('ALIPAY_PRIVATE_KEY');
  });

  it("counts an answer signed with a key that is not Alipay's, and points at ALIPAY_PUBLIC_KEY", async () => {
    ams.signWith = stranger.privateKey;
    const answer = await connector.call({ ...pay(`pay_badsig_${Date.now().toString(36)}`), type: 'InquirePayment' });

    expect((answer.data as { outcome: string }).outcome).toBe('U');
    expect(await untrustedCount('api="inquiryPayment",problem="INVALID_RESPONSE_SIGNATURE",result_code="INVALID_SIGNATURE"')).toBe(1);
    expect(logs.find((entry) => entry.problem === 'INVALID_RESPONSE_SIGNATURE')?.msg).toContain('ALIPAY_PUBLIC_KEY');
  });
});
