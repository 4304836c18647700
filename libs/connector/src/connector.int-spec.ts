import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { AmsClient, formatAmsTime, signedResponseHeaders } from '@upm/alipay';
import { createEnvelope, Envelope, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import { IdempotentConsumer } from '@upm/shared-kafka';
import { Metrics } from '@upm/shared-observability';
import { createTestTopics, eventually, freshDatabase, LoopbackServer, testKafka, testLogger, uniquePrefix } from '@upm/shared-testing';
import { commandConsumer } from './connector.module';
import { ConnectorService } from './connector.service';
import { CONNECTOR_DATABASE } from './database';

const CLIENT_ID = 'CLIENT_CONNECTOR_TEST';
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** AMS answers by endpoint: a pay still in process, an inquiry finding it so. */
const ANSWERS: Record<string, object> = {
  pay: { result: { resultStatus: 'U', resultCode: 'PAYMENT_IN_PROCESS', resultMessage: 'payment in process' } },
  inquiryPayment: { result: { resultStatus: 'S', resultCode: 'SUCCESS', resultMessage: 'success.' }, paymentStatus: 'PROCESSING' },
};

/** An AMS endpoint that answers signed and lists the calls it received, in the order they came. */
class CountingAms extends LoopbackServer {
  readonly calls: Array<{ api: string; paymentRequestId: string }> = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const api = (req.url ?? '').split('/').pop() ?? '';
      this.calls.push({ api, paymentRequestId: (JSON.parse(Buffer.concat(chunks).toString()) as { paymentRequestId: string }).paymentRequestId });
      const body = JSON.stringify(ANSWERS[api] ?? { result: { resultStatus: 'F', resultCode: 'INVALID_API', resultMessage: 'no such api' } });
      res.writeHead(200, signedResponseHeaders({ path: req.url ?? '', clientId: CLIENT_ID, time: formatAmsTime(new Date()), body, privateKey: alipay.privateKey })).end(body);
    });
  }
}

let dataSource: DataSource;
let kafka: Kafka;
let producer: Producer;
let ams: CountingAms;
let client: AmsClient;
let consumer: IdempotentConsumer | undefined;
let prefix: string;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_connector', CONNECTOR_DATABASE));
  kafka = testKafka('connector-test');
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  ams = await new CountingAms().listen();
  client = new AmsClient({ baseUrl: ams.url, credentials: { clientId: CLIENT_ID, privateKey: merchant.privateKey, alipayPublicKey: alipay.publicKey }, timeoutMs: 2000 });
});

beforeEach(async () => {
  prefix = uniquePrefix('connector');
  await createTestTopics(kafka, prefix);
});

afterEach(async () => {
  await consumer?.stop();
  consumer = undefined;
});

afterAll(async () => {
  client.close();
  await ams.close();
  await producer.disconnect();
  await dataSource.destroy();
});

/** The connector's own consumer of alipay.v1 commands, as its module wires it, with the given back-offs. */
async function startConnector(retryDelaysMs: number[]): Promise<void> {
  const connector = new ConnectorService(client, dataSource, { notifyPath: '/alipay/notify', maxConcurrency: 8 }, testLogger(), new Metrics('test'));
  consumer = new IdempotentConsumer(kafka, producer, dataSource, testLogger(), new Metrics('test'), prefix, { ...commandConsumer(connector), retryDelaysMs });
  await consumer.start();
}

function command(type: 'Pay' | 'InquirePayment', paymentId: string): Envelope {
  const example = MESSAGE_EXAMPLES[TOPICS.alipayCommands.name][type] as object;
  return createEnvelope({ type, key: paymentId, producer: 'payment-orchestrator', data: { ...example, paymentId, paymentRequestId: paymentId } });
}

async function publish(envelope: Envelope): Promise<void> {
  await producer.send({ topic: prefix + TOPICS.alipayCommands.name, acks: -1, messages: [{ key: envelope.key, value: JSON.stringify(envelope) }] });
}

let refusals = 0;

/**
 * A payment whose pay answer the audit log refuses once: the pay goes to the retry topic, parking the
 * payment, and is recorded when tried again there.
 */
async function payRecordedOnSecondTry(name: string): Promise<string> {
  const paymentId = `pay_${name}_${Date.now().toString(36)}`;
  const sequence = `audit_refusals_${++refusals}`;
  await dataSource.query(`CREATE SEQUENCE ${sequence}`);
  await dataSource.query(`CREATE OR REPLACE FUNCTION refuse_first_pay_${refusals}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.payment_id = '${paymentId}' AND NEW.api = 'pay' AND nextval('${sequence}') = 1 THEN RAISE EXCEPTION 'audit log refused the row'; END IF;
      RETURN NEW;
    END $$`);
  await dataSource.query(`CREATE TRIGGER refuse_first_pay_${refusals} BEFORE INSERT ON ams_exchanges FOR EACH ROW EXECUTE FUNCTION refuse_first_pay_${refusals}()`);
  return paymentId;
}

const callsFor = (paymentId: string) => ams.calls.filter((call) => call.paymentRequestId === paymentId).map((call) => call.api);

const resultsFor = (count: number, paymentId: string) =>
  eventually(async () => {
    const rows: Array<{ type: string }> = await dataSource.query('SELECT type FROM outbox WHERE key = $1 ORDER BY seq', [paymentId]);
    return rows.length >= count ? rows.map((row) => row.type) : undefined;
  }, 20_000, 100);

const parkedBy = async (key: string): Promise<string | undefined> =>
  ((await dataSource.query('SELECT last_message_id FROM parked_keys WHERE consumer_group = $1 AND key = $2', ['alipay-connector.commands', key])) as Array<{ last_message_id: string }>)[0]?.last_message_id;

describe('the connector consuming alipay.v1 commands', () => {
  it('makes no AMS call for a parked payment\'s later command until the command waiting in the retry topic is applied', async () => {
    const paymentId = await payRecordedOnSecondTry('late');
    await startConnector([4000]);
    const calls = () => callsFor(paymentId);

    const pay = command('Pay', paymentId);
    await publish(pay);
    expect(await eventually(async () => ((await parkedBy(paymentId)) === pay.id ? true : undefined), 20_000, 100)).toBe(true);

    // the inquiry comes while the pay waits out its back-off: it is held behind the pay without calling AMS
    const inquiry = command('InquirePayment', paymentId);
    await publish(inquiry);
    expect(await eventually(async () => ((await parkedBy(paymentId)) === inquiry.id ? true : undefined), 20_000, 100)).toBe(true);
    expect(calls()).toEqual(['pay']);

    // the pay is called again and recorded first, then the inquiry, and the payment is unparked
    expect(await resultsFor(2, paymentId)).toEqual(['PayResult', 'InquiryResult']);
    expect(calls()).toEqual(['pay', 'pay', 'inquiryPayment']);
    expect(await eventually(async () => ((await parkedBy(paymentId)) === undefined ? true : undefined), 10_000, 100)).toBe(true);
  }, 60_000);

  it('makes no AMS call for a command fetched right behind one whose answer could not be recorded', async () => {
    const paymentId = await payRecordedOnSecondTry('behind');
    await startConnector([2000]);
    const pay = command('Pay', paymentId);
    const inquiry = command('InquirePayment', paymentId);
    await producer.send({ topic: prefix + TOPICS.alipayCommands.name, acks: -1, messages: [pay, inquiry].map((envelope) => ({ key: envelope.key, value: JSON.stringify(envelope) })) });

    // the inquiry waited for the pay's record, found the payment parked and was held without a call
    expect(await eventually(async () => ((await parkedBy(paymentId)) === inquiry.id ? true : undefined), 20_000, 50)).toBe(true);
    expect(callsFor(paymentId)).toEqual(['pay']);
    expect(await resultsFor(2, paymentId)).toEqual(['PayResult', 'InquiryResult']);
    expect(callsFor(paymentId)).toEqual(['pay', 'pay', 'inquiryPayment']);
  }, 60_000);
});
