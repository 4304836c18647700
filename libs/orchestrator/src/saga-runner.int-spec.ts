import type { Kafka, Producer } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import { CancelPaymentV1, createEnvelope, Envelope, parseMessage, TOPICS } from '@upm/contracts';
import { DEFAULT_SAGA_CONFIG, SagaInput } from '@upm/payments-domain';
import { collectOutbox, IdempotentConsumer } from '@upm/shared-kafka';
import { Metrics } from '@upm/shared-observability';
import { createTestTopics, eventually, freshDatabase, sleep, testKafka, testLogger, uniquePrefix } from '@upm/shared-testing';
import { ORCHESTRATOR_DATABASE } from './database';
import { sagaConsumers } from './orchestrator.module';
import { SagaRunner } from './saga-runner';

let dataSource: DataSource;
const runner = new SagaRunner(DEFAULT_SAGA_CONFIG, testLogger(), new Metrics('test'));

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_saga_runner', ORCHESTRATOR_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

const requestPayment = (paymentId: string): SagaInput => ({
  type: 'RequestPayment',
  data: {
    paymentId,
    merchantOrderId: `order-${paymentId}`,
    amount: { currency: 'HKD', value: '1250' },
    paymentCode: '281012020000000000000000',
    merchant: { merchantId: 'mer_1', merchantName: 'Harbour Coffee', merchantMcc: '5812', storeId: 'sto_1', storeName: 'Central', storeMcc: '5812', terminalId: 'ter_1' },
    requestedAt: new Date().toISOString(),
  },
});
const paid = { alipayPaymentId: '2026112719401080010018810000000001', paymentTime: '2026-11-27T12:06:02+08:00' };
const payResult = (paymentId: string, outcome: 'S' | 'U'): SagaInput => ({
  type: 'PayResult',
  data: { paymentId, paymentRequestId: paymentId, attempt: 0, outcome, ...(outcome === 'S' ? { resultCode: 'SUCCESS', ...paid } : { resultCode: 'PAYMENT_IN_PROCESS' }) },
});
const inquiryDue = (attempt: number): SagaInput => ({ type: 'TimerFired', data: { timer: 'INQUIRY', attempt } });
const inquirySucceeded = (paymentId: string): SagaInput => ({
  type: 'InquiryResult',
  data: { paymentId, paymentRequestId: paymentId, attempt: 1, outcome: 'S', resultCode: 'SUCCESS', paymentStatus: 'SUCCESS', ...paid },
});

/**
 * Four payments' inputs, in the order a batch would bring them: paid at once; pending (inquiry #1 sent at
 * once, #2 scheduled); pending, then inquiry #1 finds it paid; just sent (its answer deadline scheduled).
 */
function inputsFor(prefix: string): Array<[string, SagaInput]> {
  const [paidAtOnce, pending, foundPaid, justSent] = ['a', 'b', 'c', 'd'].map((x) => `${prefix}_${x}`);
  return [
    [paidAtOnce, requestPayment(paidAtOnce)], [paidAtOnce, payResult(paidAtOnce, 'S')],
    [pending, requestPayment(pending)], [pending, payResult(pending, 'U')],
    [foundPaid, requestPayment(foundPaid)], [foundPaid, payResult(foundPaid, 'U')], [foundPaid, inquirySucceeded(foundPaid)],
    [justSent, requestPayment(justSent)],
  ];
}

/** What the steps left behind for payments starting with `prefix`, with the prefix taken out so two runs compare. */
async function outcome(prefix: string) {
  const strip = (id: string) => id.slice(prefix.length);
  const sagas: Array<{ payment_id: string; status: string }> = await dataSource.query('SELECT payment_id, status FROM sagas WHERE payment_id LIKE $1 ORDER BY payment_id', [`${prefix}%`]);
  const timers: Array<{ payment_id: string; name: string; attempt: number }> = await dataSource.query('SELECT payment_id, name, attempt FROM timers WHERE payment_id LIKE $1 ORDER BY payment_id, name', [`${prefix}%`]);
  const outbox: Array<{ key: string; type: string }> = await dataSource.query('SELECT key, type FROM outbox WHERE key LIKE $1 ORDER BY seq', [`${prefix}%`]);
  return {
    sagas: sagas.map((s) => [strip(s.payment_id), s.status]),
    timers: timers.map((t) => [strip(t.payment_id), t.name, t.attempt]),
    outbox: outbox.map((o) => [strip(o.key), o.type]),
  };
}

/** Records the statements a transaction sends that touch the saga tables. */
function countSagaStatements(manager: EntityManager): string[] {
  const seen: string[] = [];
  const query = manager.query.bind(manager);
  manager.query = (sql: string, parameters?: unknown[]) => {
    if (/\b(sagas|timers)\b/.test(sql)) seen.push(sql);
    return query(sql, parameters);
  };
  return seen;
}

describe('SagaRunner', () => {
  it('applies a batch of steps for several payments with one statement to lock their sagas and one to store them, as one by one would', async () => {
    for (const [paymentId, input] of inputsFor('one')) {
      await dataSource.transaction((manager) => runner.run(manager, paymentId, input));
    }
    const batch = inputsFor('batch');
    let statements: string[] = [];
    await dataSource.transaction(async (manager) => {
      statements = countSagaStatements(manager);
      await collectOutbox(manager, () => runner.inBatch(manager, batch.map(([id]) => id), async () => {
        for (const [paymentId, input] of batch) await runner.run(manager, paymentId, input);
      }));
    });

    const expected = await outcome('one');
    expect(expected.sagas).toEqual([['_a', 'SUCCEEDED'], ['_b', 'INQUIRING'], ['_c', 'SUCCEEDED'], ['_d', 'PAY_SENT']]);
    expect(expected.timers).toEqual([['_b', 'INQUIRY', 2], ['_d', 'INQUIRY', 1]]);
    expect(await outcome('batch')).toEqual(expected);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/FOR UPDATE/);
  });

  it('goes on from the state a batch stored, and moves or clears the timers it left', async () => {
    await dataSource.transaction((manager) => runner.inBatch(manager, ['next_b', 'next_d'], async () => {
      await runner.run(manager, 'next_b', requestPayment('next_b'));
      await runner.run(manager, 'next_b', payResult('next_b', 'U'));
      await runner.run(manager, 'next_d', requestPayment('next_d'));
    }));
    await dataSource.transaction((manager) => runner.inBatch(manager, ['next_b', 'next_d'], async () => {
      await runner.run(manager, 'next_b', inquiryDue(2));
      await runner.run(manager, 'next_d', payResult('next_d', 'S'));
    }));
    const after = await outcome('next');
    expect(after.sagas).toEqual([['_b', 'INQUIRING'], ['_d', 'SUCCEEDED']]);
    // inquiry #2 was sent when its timer fired, so the next check is #3; the paid payment has no timer left
    expect(after.timers).toEqual([['_b', 'INQUIRY', 3]]);
  });

  it('refuses a step for a payment its batch did not lock, and a second batch in one transaction', async () => {
    await expect(dataSource.transaction((manager) => runner.inBatch(manager, ['locked'], () => runner.run(manager, 'not_locked', requestPayment('not_locked'))))).rejects.toThrow(/not locked/);
    await expect(dataSource.transaction((manager) => runner.inBatch(manager, ['x'], () => runner.inBatch(manager, ['y'], async () => 0)))).rejects.toThrow(/already open/);
    expect((await outcome('not_locked')).sagas).toEqual([]);
  });

  it('with skipLocked, leaves a saga another transaction holds without waiting for it', async () => {
    await dataSource.transaction((manager) => runner.run(manager, 'held_a', requestPayment('held_a')));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = dataSource.transaction(async (manager) => {
      await manager.query("SELECT 1 FROM sagas WHERE payment_id = 'held_a' FOR UPDATE");
      locked();
      await released;
    });
    await isLocked;
    let ran = false;
    const answer = await dataSource.transaction((manager) => runner.inBatch(manager, ['held_a'], async () => (ran = true), { skipLocked: true }));
    release();
    await holder;
    expect(answer).toBeUndefined();
    expect(ran).toBe(false);
    // once free, the same call runs
    expect(await dataSource.transaction((manager) => runner.inBatch(manager, ['held_a'], async () => 'ran', { skipLocked: true }))).toBe('ran');
  });

  it('schedules a timer by the database\'s clock, which the timer poller fires by, whatever this replica\'s clock says', async () => {
    const dueIn = async (paymentId: string): Promise<number> => {
      const [row]: Array<{ seconds: number }> = await dataSource.query('SELECT extract(epoch FROM due_at - now())::float AS seconds FROM timers WHERE payment_id = $1', [paymentId]);
      return row.seconds;
    };
    const firstInquiry = DEFAULT_SAGA_CONFIG.firstInquiryDelayMs / 1000;
    // this replica's clock a minute behind the database's, then a minute ahead
    for (const [paymentId, skewMs] of [['skew_behind', -60_000], ['skew_ahead', 60_000]] as const) {
      jest.useFakeTimers({ now: Date.now() + skewMs, doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'hrtime', 'performance'] });
      try {
        await dataSource.transaction((manager) => runner.run(manager, paymentId, requestPayment(paymentId)));
      } finally {
        jest.useRealTimers();
      }
      const seconds = await dueIn(paymentId);
      expect(seconds).toBeGreaterThan(firstInquiry - 2);
      expect(seconds).toBeLessThanOrEqual(firstInquiry);
    }
  });

  it('dates a timer from when its step ran, not from when the transaction began', async () => {
    const firstInquiry = DEFAULT_SAGA_CONFIG.firstInquiryDelayMs / 1000;
    // a batch whose transaction began two seconds before this payment's step (saga locks waited for, other steps first)
    await dataSource.transaction(async (manager) => {
      await manager.query('SELECT 1');
      await sleep(2000);
      await runner.run(manager, 'late_in_batch', requestPayment('late_in_batch'));
    });
    const [row]: Array<{ seconds: number }> = await dataSource.query("SELECT extract(epoch FROM due_at - now())::float AS seconds FROM timers WHERE payment_id = 'late_in_batch'");
    expect(row.seconds).toBeGreaterThan(firstInquiry - 1);
    expect(row.seconds).toBeLessThanOrEqual(firstInquiry);
  });

  it('counts a later REVERSED that moves a payment the reports settled as charged as applied, not ignored', async () => {
    // one inquiry and one cancel: an unanswered pay is in NEEDS_REVIEW after four steps
    const metrics = new Metrics('test');
    const quick = new SagaRunner({ ...DEFAULT_SAGA_CONFIG, maxInquiries: 1, cancelRetryDelaysMs: [] }, testLogger(), metrics);
    const paymentId = 'resolved_twice';
    const ref = { paymentId, paymentRequestId: paymentId };
    const resolved = (resolution: 'CHARGED' | 'REVERSED'): SagaInput => ({
      type: 'PaymentReviewResolved',
      data: { paymentId, merchantId: 'mer_1', resolution, amount: { currency: 'HKD', value: resolution === 'CHARGED' ? '1250' : '0' }, evidence: 'the reports', reportFile: 'transactionItems_20261128_000.csv' },
    });
    const inputs: SagaInput[] = [
      requestPayment(paymentId),
      payResult(paymentId, 'U'),
      { type: 'InquiryResult', data: { ...ref, attempt: 1, outcome: 'S', resultCode: 'SUCCESS', paymentStatus: 'PROCESSING' } },
      { type: 'CancelResult', data: { ...ref, attempt: 1, outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' } },
      resolved('CHARGED'),
      resolved('REVERSED'),
    ];
    const statuses: string[] = [];
    for (const input of inputs) statuses.push((await dataSource.transaction((manager) => quick.run(manager, paymentId, input))).status);
    expect(statuses.slice(3)).toEqual(['NEEDS_REVIEW', 'SUCCEEDED', 'CANCELLED']);
    const counted = (await metrics.text()).split('\n').filter((line) => line.startsWith('upm_payments_review_resolutions_total{'));
    expect(counted.map((line) => line.replace(/,?service="test"/, '')).sort()).toEqual([
      'upm_payments_review_resolutions_total{resolution="CHARGED",outcome="applied"} 1',
      'upm_payments_review_resolutions_total{resolution="REVERSED",outcome="applied"} 1',
    ]);
  });

  it('makes a payment the reports closed as not charged SUCCEEDED when a later file lists its charge, across stored steps', async () => {
    const metrics = new Metrics('test');
    const quick = new SagaRunner({ ...DEFAULT_SAGA_CONFIG, maxInquiries: 1, cancelRetryDelaysMs: [] }, testLogger(), metrics);
    const paymentId = 'charged_after_not_charged';
    const ref = { paymentId, paymentRequestId: paymentId };
    const resolved = (resolution: 'CHARGED' | 'NOT_CHARGED'): SagaInput => ({
      type: 'PaymentReviewResolved',
      data: { paymentId, merchantId: 'mer_1', resolution, amount: { currency: 'HKD', value: resolution === 'CHARGED' ? '1250' : '0' }, evidence: 'the reports', reportFile: 'transactionItems_20261129_000.csv' },
    });
    const inputs: SagaInput[] = [
      requestPayment(paymentId),
      payResult(paymentId, 'U'),
      { type: 'InquiryResult', data: { ...ref, attempt: 1, outcome: 'S', resultCode: 'SUCCESS', paymentStatus: 'PROCESSING' } },
      { type: 'CancelResult', data: { ...ref, attempt: 1, outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' } },
      resolved('NOT_CHARGED'),
      resolved('CHARGED'),
    ];
    const statuses: string[] = [];
    for (const input of inputs) statuses.push((await dataSource.transaction((manager) => quick.run(manager, paymentId, input))).status);
    expect(statuses.slice(3)).toEqual(['NEEDS_REVIEW', 'FAILED', 'SUCCEEDED']);
    const events: Array<{ type: string }> = await dataSource.query("SELECT type FROM outbox WHERE key = $1 AND topic = 'payments.v1.events' ORDER BY seq", [paymentId]);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['PaymentFailed', 'PaymentSucceeded']);
    const counted = (await metrics.text()).split('\n').filter((line) => line.startsWith('upm_payments_review_resolutions_total{'));
    expect(counted.map((line) => line.replace(/,?service="test"/, '')).sort()).toEqual([
      'upm_payments_review_resolutions_total{resolution="CHARGED",outcome="applied"} 1',
      'upm_payments_review_resolutions_total{resolution="NOT_CHARGED",outcome="applied"} 1',
    ]);
  });
});

describe('SagaRunner: a refused cancel', () => {
  const cancel = (paymentId: string) => createEnvelope({ type: 'CancelPayment', key: paymentId, data: { paymentId, reason: 'POS_ABORT', requestedAt: new Date().toISOString() }, producer: 'terminal-gateway', correlationId: paymentId });
  const refundRequested = (paymentId: string): SagaInput => ({
    type: 'RequestRefund',
    data: { paymentId, refundId: `ref_${paymentId}`, refundRequestId: 'R-1', amount: { currency: 'HKD', value: '500' }, requestedAt: new Date().toISOString() },
  });
  const refusals = (paymentId: string): Promise<Array<{ payload: unknown }>> =>
    dataSource.query("SELECT payload FROM outbox WHERE key = $1 AND topic = 'payments.v1.events' AND type = 'PaymentCancelRefused' ORDER BY seq", [paymentId]);

  it('is answered with PaymentCancelRefused: the payment as it stands, the code, and the refused command as its cause', async () => {
    const paymentId = 'void_refused';
    for (const input of [requestPayment(paymentId), payResult(paymentId, 'S'), refundRequested(paymentId)]) {
      await dataSource.transaction((manager) => runner.run(manager, paymentId, input));
    }
    const command = cancel(paymentId);
    const after = await dataSource.transaction((manager) => runner.run(manager, paymentId, { type: 'CancelPayment', data: command.data as CancelPaymentV1 }, command));
    expect(after.status).toBe('SUCCEEDED');

    const [refusal, ...more] = await refusals(paymentId);
    expect(more).toEqual([]);
    const event = parseMessage(TOPICS.paymentEvents.name, refusal.payload);
    expect(event).toMatchObject({
      type: 'PaymentCancelRefused', causationId: command.id, correlationId: paymentId,
      data: { payment: { paymentId, status: 'SUCCEEDED', sequence: 2 }, failure: { code: 'PAYMENT_NOT_CANCELLABLE' } },
    });
  });

  it('sends nothing for a payment the saga does not know: there is no payment to show', async () => {
    const command = cancel('void_unknown');
    await dataSource.transaction((manager) => runner.run(manager, 'void_unknown', { type: 'CancelPayment', data: command.data as CancelPaymentV1 }, command));
    expect(await refusals('void_unknown')).toEqual([]);
  });
});

describe('SagaRunner: upm_payments_final_total', () => {
  it('counts each payment once, by the first final status it reached: not again when it goes to review or is voided', async () => {
    const metrics = new Metrics('test');
    const counting = new SagaRunner(DEFAULT_SAGA_CONFIG, testLogger(), metrics);
    const [mismatched, voided] = ['final_mismatch', 'final_void'];
    const inputs: Array<[string, SagaInput]> = [
      [mismatched, requestPayment(mismatched)],
      [mismatched, payResult(mismatched, 'S')],
      // Alipay's notification names another amount than the sale: NEEDS_REVIEW (AMOUNT_MISMATCH) after SUCCEEDED
      [mismatched, { type: 'PaymentNotified', data: { paymentId: mismatched, paymentRequestId: mismatched, outcome: 'S', resultCode: 'SUCCESS', amount: { currency: 'HKD', value: '1150' }, ...paid } }],
      [voided, requestPayment(voided)],
      [voided, payResult(voided, 'S')],
      [voided, { type: 'CancelPayment', data: { paymentId: voided, reason: 'POS_ABORT', requestedAt: new Date().toISOString() } }],
      [voided, { type: 'CancelResult', data: { paymentId: voided, paymentRequestId: voided, attempt: 1, outcome: 'S', resultCode: 'SUCCESS' } }],
    ];
    const statuses: string[] = [];
    for (const [paymentId, input] of inputs) statuses.push((await dataSource.transaction((manager) => counting.run(manager, paymentId, input))).status);
    expect(statuses).toEqual(['PAY_SENT', 'SUCCEEDED', 'NEEDS_REVIEW', 'PAY_SENT', 'SUCCEEDED', 'CANCELLING', 'CANCELLED']);

    const lines = (await metrics.text()).split('\n').map((line) => line.replace(/service="test",?/, '').replace(',}', '}'));
    expect(lines.filter((line) => line.startsWith('upm_payments_final_total{'))).toEqual(['upm_payments_final_total{status="SUCCEEDED",failure_code=""} 2']);
    expect(lines.filter((line) => line.startsWith('upm_saga_step_seconds_count{'))).toEqual(['upm_saga_step_seconds_count{status="SUCCEEDED"} 2']);
    // the review is still counted as one: an operator has it
    expect(lines.filter((line) => line.startsWith('upm_payments_needs_review_total{'))).toEqual(['upm_payments_needs_review_total{kind="AMOUNT_MISMATCH"} 1']);
  });
});

describe('SagaRunner behind its consumers: a batch Kafka delivers again after the saga was stored', () => {
  let kafka: Kafka;
  let producer: Producer;
  let prefix: string;
  // one inquiry and one cancel, so that a payment reaches NEEDS_REVIEW (and a report can settle it) in a few messages
  const quick = new SagaRunner({ ...DEFAULT_SAGA_CONFIG, maxInquiries: 1, cancelRetryDelaysMs: [] }, testLogger(), new Metrics('test'));
  /** what the consumers said of each envelope they handled: applied, or a duplicate (per envelope id, the latest) */
  const seen = new Map<string, boolean>();
  let consumers: IdempotentConsumer[] = [];

  beforeAll(async () => {
    kafka = testKafka('saga-runner-test');
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    prefix = uniquePrefix('saga-redelivery');
    await createTestTopics(kafka, prefix);
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await producer.disconnect();
  });

  async function startConsumers(): Promise<void> {
    const onProcessed = (envelope: Envelope, applied: boolean) => void seen.set(envelope.id, applied);
    consumers = sagaConsumers(quick).map((options) => new IdempotentConsumer(kafka, producer, dataSource, testLogger(), new Metrics('test'), prefix, { ...options, sessionTimeoutMs: 6000, onProcessed }));
    await Promise.all(consumers.map((c) => c.start()));
  }

  /** Publishes one message and waits until its consumer group has handled it, so a payment's messages across topics keep their order. */
  async function deliver(topic: string, paymentId: string, type: string, data: object): Promise<Envelope> {
    const envelope = createEnvelope({ type, key: paymentId, data, producer: 'test', correlationId: paymentId });
    await producer.send({ topic: prefix + topic, acks: -1, messages: [{ key: paymentId, value: JSON.stringify(envelope) }] });
    await eventually(() => (seen.has(envelope.id) ? true : undefined), 30_000, 50);
    return envelope;
  }

  /** Everything the saga keeps: the saga rows as stored, their timers with the instant each falls due, the outbox, the inbox. */
  async function stored(keys: string[]) {
    const query = (sql: string) => dataSource.query(sql, [keys]);
    return {
      sagas: await query('SELECT payment_id, status, state, updated_at FROM sagas WHERE payment_id = ANY($1) ORDER BY payment_id'),
      timers: await query('SELECT payment_id, name, attempt, due_at FROM timers WHERE payment_id = ANY($1) ORDER BY payment_id, name'),
      outbox: await query('SELECT key, topic, type, payload FROM outbox WHERE key = ANY($1) ORDER BY seq'),
      inbox: await dataSource.query("SELECT consumer_group, count(*)::int AS messages FROM inbox WHERE consumer_group LIKE 'payment-orchestrator.%' GROUP BY consumer_group ORDER BY consumer_group"),
    };
  }

  it('applies none of its messages again, whatever their type: saga, timers and outbox stay as they were', async () => {
    const [sale, reviewed] = ['redelivered_sale', 'redelivered_review'];
    const commands = TOPICS.paymentCommands.name;
    const results = TOPICS.alipayResults.name;
    const ref = (paymentId: string) => ({ paymentId, paymentRequestId: paymentId });
    const refund = (n: number, value: string) => ({ paymentId: sale, refundId: `ref_${n}`, refundRequestId: `R-${n}`, amount: { currency: 'HKD', value }, requestedAt: new Date().toISOString() });
    const cancel = (paymentId: string) => ({ paymentId, reason: 'POS_ABORT', requestedAt: new Date().toISOString() });
    await startConsumers();

    // each message is one that, applied a second time, would write something: a timer moved, a command or event sent again
    const delivered: Envelope[] = [];
    const steps: Array<[string, string, string, object]> = [
      [commands, sale, 'RequestPayment', requestPayment(sale).data],
      [results, sale, 'PayResult', payResult(sale, 'U').data],
      [results, sale, 'InquiryResult', { ...ref(sale), attempt: 1, outcome: 'S', resultCode: 'SUCCESS', paymentStatus: 'SUCCESS', ...paid }],
      [results, sale, 'PaymentNotified', { ...ref(sale), outcome: 'S', resultCode: 'SUCCESS', amount: { currency: 'HKD', value: '1250' }, ...paid }],
      [commands, sale, 'RequestRefund', refund(1, '500')],
      [results, sale, 'RefundResult', { ...ref(sale), attempt: 1, outcome: 'U', resultCode: 'REFUND_IN_PROCESS', refundId: 'ref_1', refundRequestId: 'R-1' }],
      [results, sale, 'InquireRefundResult', { ...ref(sale), attempt: 1, outcome: 'S', resultCode: 'SUCCESS', refundId: 'ref_1', refundRequestId: 'R-1', refundStatus: 'SUCCESS' }],
      [commands, sale, 'RequestRefund', refund(2, '300')],
      [results, sale, 'RefundNotified', { paymentId: sale, refundId: 'ref_2', refundRequestId: 'R-2', outcome: 'S', resultCode: 'SUCCESS', amount: { currency: 'HKD', value: '300' } }],
      // refused (the payment has refunds): answered with PaymentCancelRefused, which a second try would send again
      [commands, sale, 'CancelPayment', cancel(sale)],
      [commands, reviewed, 'RequestPayment', requestPayment(reviewed).data],
      [results, reviewed, 'PayResult', payResult(reviewed, 'U').data],
      [results, reviewed, 'InquiryResult', { ...ref(reviewed), attempt: 1, outcome: 'S', resultCode: 'SUCCESS', paymentStatus: 'PROCESSING' }],
      [results, reviewed, 'CancelResult', { ...ref(reviewed), attempt: 1, outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' }],
      [TOPICS.settlementEvents.name, reviewed, 'PaymentReviewResolved', { paymentId: reviewed, merchantId: 'mer_1', resolution: 'CHARGED', amount: { currency: 'HKD', value: '1250' }, evidence: 'the reports', reportFile: 'transactionItems_20261128_000.csv' }],
    ];
    for (const [topic, paymentId, type, data] of steps) delivered.push(await deliver(topic, paymentId, type, data));
    expect(delivered.map((e) => seen.get(e.id))).toEqual(delivered.map(() => true));
    const before = await stored([sale, reviewed]);
    const sagas = before.sagas as Array<{ payment_id: string; status: string; state: { refunds: Array<{ status: string }> } }>;
    expect(sagas.map((s) => [s.payment_id, s.status])).toEqual([[reviewed, 'SUCCEEDED'], [sale, 'SUCCEEDED']]);
    expect(sagas[1].state.refunds.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(before.inbox).toEqual([
      { consumer_group: 'payment-orchestrator.commands', messages: 5 },
      { consumer_group: 'payment-orchestrator.results', messages: 9 },
      { consumer_group: 'payment-orchestrator.reviews', messages: 1 },
    ]);

    // The consumers stop, and every group's offsets go back to the start: as after a crash between the transaction
    // that stored the sagas and the commit of the offsets, Kafka delivers every message again.
    await Promise.all(consumers.map((c) => c.stop()));
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const { groupId, topic } of sagaConsumers(quick)) await admin.resetOffsets({ groupId: prefix + groupId, topic: prefix + topic, earliest: true });
    } finally {
      await admin.disconnect();
    }
    seen.clear();
    await startConsumers();
    await eventually(() => (delivered.every((e) => seen.has(e.id)) ? true : undefined), 60_000, 100);

    expect(delivered.filter((e) => seen.get(e.id)).map((e) => e.type)).toEqual([]);
    expect(await stored([sale, reviewed])).toEqual(before);
  }, 120_000);
});
