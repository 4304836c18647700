import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { ContractViolation, deadLetterTopic, retryTopic } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { appendToOutbox, ConsumerSettings, IdempotentConsumer, inboxPruner, KAFKA_ENTITIES, KAFKA_MIGRATIONS, MessageHandler, OutboxRelay, PermanentError, writeWithOutbox } from '@upm/shared-kafka';
import {
  COMMANDS_TOPIC, createEffectsTable, createTestTopics, eventually, freshDatabase, readTopic, recordEffect, refundCommand, sleep, testKafka, testLogger, uniquePrefix,
} from '@upm/shared-testing';

const logger = testLogger();
let dataSource: DataSource;
let databaseUrl: string;
let kafka: Kafka;
let producer: Producer;
let relay: OutboxRelay;
let consumers: IdempotentConsumer[] = [];
/** each test gets its own topics, so a new consumer group reading from the beginning sees only its test's messages */
let prefix: string;

async function effects(key?: string): Promise<Array<{ message_id: string; key: string; n: number }>> {
  return key
    ? dataSource.query('SELECT message_id, key, n FROM effects WHERE key = $1 ORDER BY arrival', [key])
    : dataSource.query('SELECT message_id, key, n FROM effects ORDER BY arrival');
}

/**
 * Waits until `count` effects of keys starting with `keyPrefix` were applied, and checks each was applied
 * once and each key's in the order written.
 */
async function appliedOnceInKeyOrder(keyPrefix: string, count: number, timeoutMs: number): ReturnType<typeof effects> {
  const rows = await eventually(async () => {
    const all = (await effects()).filter((r) => r.key.startsWith(keyPrefix));
    return all.length >= count ? all : undefined;
  }, timeoutMs, 250);
  expect(rows).toHaveLength(count);
  expect(new Set(rows.map((r) => r.message_id)).size).toBe(count);
  for (const key of new Set(rows.map((r) => r.key))) {
    const sequence = rows.filter((r) => r.key === key).map((r) => r.n);
    expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
  }
  return rows;
}

async function parkedKeys(groupId: string): Promise<Array<{ key: string }>> {
  return dataSource.query('SELECT key FROM parked_keys WHERE consumer_group = $1', [groupId]);
}

async function startConsumer(groupId: string, handle: MessageHandler = recordEffect, retryDelaysMs = [200, 400], more: Partial<ConsumerSettings> = {}): Promise<IdempotentConsumer> {
  const consumer = new IdempotentConsumer(kafka, producer, dataSource, logger, new Metrics('test'), prefix, { groupId, topic: COMMANDS_TOPIC, handle, retryDelaysMs, ...more });
  await consumer.start();
  consumers.push(consumer);
  return consumer;
}

beforeAll(async () => {
  ({ dataSource, url: databaseUrl } = await freshDatabase('upm_test_kafka_outbox', { name: 'test', entities: KAFKA_ENTITIES, migrations: KAFKA_MIGRATIONS }));
  await createEffectsTable(dataSource);
  kafka = testKafka('outbox-test');
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
});

beforeEach(async () => {
  prefix = uniquePrefix('outbox');
  await createTestTopics(kafka, prefix);
  relay = new OutboxRelay(dataSource, producer, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });
  await relay.start();
});

afterEach(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  consumers = [];
  await relay.stop();
});

afterAll(async () => {
  await producer.disconnect();
  await dataSource.destroy();
});

describe('outbox → Kafka → idempotent consumer', () => {
  it('delivers what a committed transaction wrote and never what a rolled-back one wrote', async () => {
    await startConsumer('test.commit');
    const rolledBack = refundCommand('pay_commit', 1);
    await dataSource
      .transaction(async (manager) => {
        await appendToOutbox(manager, COMMANDS_TOPIC, rolledBack);
        throw new Error('business rule failed after writing');
      })
      .catch(() => undefined);
    const committed = refundCommand('pay_commit', 2);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, committed));

    // same key, so the committed message arriving proves the rolled-back one (written first) was never sent
    const rows = await eventually(async () => ((await effects('pay_commit')).length ? effects('pay_commit') : undefined));
    expect(rows.map((r) => r.message_id)).toEqual([committed.id]);
    await outboxEmptied(); // the relay's next pass deletes what it sent
  });

  it('writes a row and its message in one statement, and no message when the write returns nothing', async () => {
    await startConsumer('test.write-with-outbox');
    await dataSource.query('CREATE TABLE IF NOT EXISTS wwo_orders (order_id text PRIMARY KEY)');
    const insert = 'INSERT INTO wwo_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING order_id';
    const [first, replay, next] = [1, 2, 3].map((n) => refundCommand('pay_wwo', n));
    expect(await writeWithOutbox(dataSource, insert, [`${prefix}-1`], COMMANDS_TOPIC, first)).toBe(true);
    expect(await writeWithOutbox(dataSource, insert, [`${prefix}-1`], COMMANDS_TOPIC, replay)).toBe(false);
    expect(await writeWithOutbox(dataSource, insert, [`${prefix}-2`], COMMANDS_TOPIC, next)).toBe(true);

    // same key, so the last message arriving proves the replay's (written between) was never sent
    const rows = await eventually(async () => ((await effects('pay_wwo')).length >= 2 ? effects('pay_wwo') : undefined));
    expect(rows.map((r) => r.message_id)).toEqual([first.id, next.id]);
    expect(await dataSource.query('SELECT order_id FROM wwo_orders WHERE order_id LIKE $1 ORDER BY order_id', [`${prefix}-%`])).toEqual([{ order_id: `${prefix}-1` }, { order_id: `${prefix}-2` }]);
  });

  it('refuses a message that breaks its contract, and the write that causes it with it', async () => {
    await dataSource.query('CREATE TABLE IF NOT EXISTS wwo_orders (order_id text PRIMARY KEY)');
    const valid = refundCommand('pay_broken', 1);
    const broken = { ...valid, data: { ...(valid.data as object), amount: { currency: 'HKD', value: '12.50' } } };
    const insert = 'INSERT INTO wwo_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING order_id';
    await expect(writeWithOutbox(dataSource, insert, [`${prefix}-broken-1`], COMMANDS_TOPIC, broken)).rejects.toThrow(ContractViolation);
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(insert, [`${prefix}-broken-2`]);
        await appendToOutbox(manager, COMMANDS_TOPIC, valid, broken);
      }),
    ).rejects.toMatchObject({ code: 'CONTRACTS.VIOLATION', message: expect.stringMatching(/^bad RequestRefund: amount.value/) });
    expect(await dataSource.query('SELECT order_id FROM wwo_orders WHERE order_id LIKE $1', [`${prefix}-broken-%`])).toEqual([]);
  });

  it('never drops a row that commits while the relay is publishing rows written after it, nor lets a second relay take it', async () => {
    await startConsumer('test.late-commit');
    // a producer whose sends wait for the test: the relay is held between reading its batch and deleting it
    let release!: () => void;
    let held!: () => void;
    const sending = new Promise<void>((resolve) => (held = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = Object.create(producer) as Producer;
    gated.sendBatch = async (batch) => {
      held();
      await gate;
      return producer.sendBatch(batch);
    };
    await relay.stop();
    relay = new OutboxRelay(dataSource, gated, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });

    const early = refundCommand('pay_late_a', 1);
    const late = refundCommand('pay_late_b', 2);
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await appendToOutbox(runner.manager, COMMANDS_TOPIC, early); // takes the lower seq, commits last
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, late));
    await relay.start();
    await sending; // the relay read [late] and is sending it
    await runner.commitTransaction();
    await runner.release();
    try {
      // meanwhile another replica's relay finds the lock taken and takes nothing, not even the committed row
      const other = new OutboxRelay(dataSource, producer, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });
      try {
        expect(await other.publishBatch()).toBe(0);
      } finally {
        await other.stop();
      }
      expect((await dataSource.query('SELECT id FROM outbox')).map((r: { id: string }) => r.id).sort()).toEqual([early.id, late.id].sort());
    } finally {
      release();
    }

    const rows = await eventually(async () => {
      const seen = (await effects()).filter((r) => r.key.startsWith('pay_late_'));
      return seen.length === 2 ? seen : undefined;
    }, 20_000, 200);
    expect(rows.map((r) => r.message_id).sort()).toEqual([early.id, late.id].sort());
  });

  it('reads past the rows it sent while an old snapshot keeps them from vacuum, but never past a row still to commit', async () => {
    await startConsumer('test.floor');
    // an export's snapshot: no deleted row can be vacuumed while it is open
    const exporter = new Client({ connectionString: databaseUrl });
    await exporter.connect();
    await exporter.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await exporter.query('SELECT count(*) FROM inbox');
    // a writer that drew its seq and has not committed yet
    const writer = dataSource.createQueryRunner();
    await writer.connect();
    await writer.startTransaction();
    const late = refundCommand('pay_floor_late', 1);
    await appendToOutbox(writer.manager, COMMANDS_TOPIC, late);
    const [{ seq }]: Array<{ seq: string }> = await writer.query('SELECT seq::text AS seq FROM outbox WHERE id = $1', [late.id]);
    try {
      // rows after it are published and deleted over several of the relay's floor checks
      for (let n = 1; n <= 6; n++) {
        await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, refundCommand('pay_floor_other', n)));
        await eventually(async () => ((await effects('pay_floor_other')).length >= n ? true : undefined), 10_000, 50);
        await sleep(400);
      }
      expect(BigInt(relay.floorSeq)).toBeLessThan(BigInt(seq));
      await writer.commitTransaction();
      expect((await eventually(async () => ((await effects('pay_floor_late')).length ? effects('pay_floor_late') : undefined), 10_000, 50)).map((r) => r.message_id)).toEqual([late.id]);
      // with the writer gone, the floor passes every row sent, the snapshot still open
      const last = refundCommand('pay_floor_other', 7);
      const lastSeq = await dataSource.transaction(async (manager) => {
        await appendToOutbox(manager, COMMANDS_TOPIC, last);
        return ((await manager.query('SELECT seq::text AS seq FROM outbox WHERE id = $1', [last.id])) as Array<{ seq: string }>)[0].seq;
      });
      await eventually(async () => ((await effects('pay_floor_other')).length >= 7 ? true : undefined), 10_000, 50);
      expect(await eventually(async () => (BigInt(relay.floorSeq) >= BigInt(lastSeq) ? true : undefined), 10_000, 100)).toBe(true);
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
      await exporter.query('ROLLBACK');
      await exporter.end();
    }
  }, 60_000);

  it('keeps its floor where it is while the seq sequence caches values, and so never skips a row drawn early', async () => {
    await startConsumer('test.cache');
    const [{ sequence }]: Array<{ sequence: string }> = await dataSource.query(`SELECT pg_get_serial_sequence('outbox', 'seq') AS sequence`);
    await dataSource.query(`ALTER SEQUENCE ${sequence} CACHE 20`);
    // two sessions: each draws twenty values at its first row, so the first one's next row has a lower seq
    const [early, other] = [dataSource.createQueryRunner(), dataSource.createQueryRunner()];
    const write = (session: QueryRunner, n: number, key: string) => session.manager.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, refundCommand(key, n)));
    try {
      await write(early, 1, 'pay_cache_early');
      for (let n = 1; n <= 3; n++) {
        await write(other, n, 'pay_cache_other');
        await eventually(async () => ((await effects('pay_cache_other')).length >= n ? true : undefined), 10_000, 50);
        await sleep(400);
      }
      await write(early, 2, 'pay_cache_early');
      expect(await eventually(async () => ((await effects('pay_cache_early')).length === 2 ? true : undefined), 10_000, 50)).toBe(true);
    } finally {
      await dataSource.query(`ALTER SEQUENCE ${sequence} CACHE 1`);
      // the sessions go back to the pool: drop the values they still hold
      for (const session of [early, other]) {
        await session.query('DISCARD SEQUENCES');
        await session.release();
      }
    }
  }, 60_000);

  it('gives up the lock with its connection, and publishes again once it has reconnected', async () => {
    await startConsumer('test.reconnect');
    const before = refundCommand('pay_reconnect', 1);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, before));
    await eventually(async () => ((await effects('pay_reconnect')).length === 1 ? true : undefined));

    // the relay's connection dies, and its session lock with it
    const killed: Array<{ pid: number; done: boolean }> = await dataSource.query(
      `SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'outbox-relay'`,
    );
    expect(killed).toEqual([{ pid: expect.any(Number), done: true }]);

    const after = refundCommand('pay_reconnect', 2);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, after));
    const rows = await eventually(async () => ((await effects('pay_reconnect')).length === 2 ? effects('pay_reconnect') : undefined), 20_000, 100);
    expect(rows.map((r) => r.message_id)).toEqual([before.id, after.id]);
    await outboxEmptied();
    // the lock is held again, by the relay's new connection
    const holders = await relayLockHolders();
    expect(holders).toHaveLength(1);
    expect(holders[0]).not.toBe(killed[0].pid);
  });

  it('publishes rows whose send to Kafka failed before later rows of their key, without a reconnect', async () => {
    await startConsumer('test.failed-send');
    // Kafka refuses the relay's first send (a leader election, retries exhausted); the database stays up
    let failures = 1;
    const flaky = Object.create(producer) as Producer;
    flaky.sendBatch = async (batch) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('KafkaJSNumberOfRetriesExceeded: broker not available');
      }
      return producer.sendBatch(batch);
    };
    await relay.stop();
    relay = new OutboxRelay(dataSource, flaky, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });

    const first = refundCommand('pay_failed_send', 1);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, first));
    await relay.start();
    await eventually(async () => (failures === 0 ? true : undefined));
    const second = refundCommand('pay_failed_send', 2);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, second));

    const rows = await eventually(async () => ((await effects('pay_failed_send')).length === 2 ? effects('pay_failed_send') : undefined), 20_000, 100);
    expect(rows.map((r) => r.message_id)).toEqual([first.id, second.id]);
    await outboxEmptied();
  });

  it('counts the rows waiting in its backlog gauge while Kafka refuses every send', async () => {
    let refusing = false;
    const flaky = Object.create(producer) as Producer;
    flaky.sendBatch = async (batch) => {
      if (refusing) throw new Error('KafkaJSNumberOfRetriesExceeded: broker not available');
      return producer.sendBatch(batch);
    };
    const metrics = new Metrics('test');
    await relay.stop();
    relay = new OutboxRelay(dataSource, flaky, logger, metrics, { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });
    await relay.start();
    refusing = true;
    for (let n = 1; n <= 3; n++) await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, refundCommand('pay_refused_backlog', n)));
    const gauge = async (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(await metrics.text())?.[1]);
    expect(await eventually(async () => ((await gauge('outbox_backlog_messages')) === 3 ? 3 : undefined), 10_000, 100)).toBe(3);
    expect(await gauge('outbox_oldest_age_seconds')).toBeGreaterThan(0);
    refusing = false;
    await outboxEmptied();
  });

  it('leaves a standby replica idle on commits: it tries for the lock on its poll only', async () => {
    await startConsumer('test.standby');
    const attempts = jest.spyOn(Client.prototype, 'query');
    const standby = new OutboxRelay(dataSource, producer, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 60_000 });
    await standby.start();
    try {
      const envelopes = Array.from({ length: 20 }, (_, i) => refundCommand('pay_standby', i));
      for (const envelope of envelopes) await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, envelope));
      await appliedOnceInKeyOrder('pay_standby', 20, 20_000);
      // the leader was woken by each commit; the standby tried once, when it started
      const lockTries = attempts.mock.calls.filter(([sql]) => typeof sql === 'string' && sql.includes('pg_try_advisory_lock')).length;
      expect(lockTries).toBe(1);
    } finally {
      attempts.mockRestore();
      await standby.stop();
    }
  });

  it('ends its session when a pass hangs, so the lock is not held by a stuck statement, and publishes once it can', async () => {
    await relay.stop();
    relay = new OutboxRelay(dataSource, producer, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200, statementTimeoutMs: 1000 });
    await relay.start();
    await startConsumer('test.stuck-pass');
    const [first] = await eventually(async () => ((await relayLockHolders()).length ? relayLockHolders() : undefined));

    // a session holds the outbox for 2.5 s: the relay's passes wait on it until the statement timeout
    const stuck = refundCommand('pay_stuck_pass', 1);
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query('LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE');
    await appendToOutbox(runner.manager, COMMANDS_TOPIC, stuck);
    await sleep(2500);
    await runner.commitTransaction();
    await runner.release();

    const rows = await eventually(async () => ((await effects('pay_stuck_pass')).length ? effects('pay_stuck_pass') : undefined), 20_000, 100);
    expect(rows.map((r) => r.message_id)).toEqual([stuck.id]);
    // the session that waited was ended; a new one leads
    const holders = await relayLockHolders();
    expect(holders).toHaveLength(1);
    expect(holders[0]).not.toBe(first);
  });

  it('stops while other replicas go on writing; the next relay publishes the rest', async () => {
    // sends that take 30 ms: every pass finds what was written meanwhile
    const slow = Object.create(producer) as Producer;
    slow.sendBatch = async (batch) => {
      await sleep(30);
      return producer.sendBatch(batch);
    };
    await relay.stop();
    relay = new OutboxRelay(dataSource, slow, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });
    await relay.start();
    await startConsumer('test.stop-under-writes');
    const written: string[] = [];
    let writing = true;
    const writer = (async () => {
      // another replica's traffic, a message every few milliseconds, for as long as the test lets it
      for (let i = 0; writing; i++) {
        const envelope = refundCommand(`pay_stop_${i % 5}`, i);
        await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, envelope));
        written.push(envelope.id);
        await sleep(5);
      }
    })();
    await sleep(500);
    const stopped = await Promise.race([relay.stop().then(() => 'stopped' as const), sleep(5000).then(() => 'still draining' as const)]);
    writing = false;
    await writer;
    expect(stopped).toBe('stopped');

    // the rest is published by the next relay; every message is applied once, in order per key
    relay = new OutboxRelay(dataSource, producer, logger, new Metrics('test'), { topicPrefix: prefix, databaseUrl, pollIntervalMs: 200 });
    await relay.start();
    const rows = await appliedOnceInKeyOrder('pay_stop_', written.length, 60_000);
    expect(rows.map((r) => r.message_id).sort()).toEqual([...written].sort());
  }, 90_000);

  it('keeps the order of each key across 1,000 messages written in many transactions', async () => {
    await startConsumer('test.order');
    const keys = Array.from({ length: 10 }, (_, i) => `pay_order_${i}`);
    let n = 0;
    for (let batch = 0; batch < 20; batch++) {
      await dataSource.transaction(async (manager) => {
        // interleave keys inside each transaction; per key, n only grows
        const envelopes = Array.from({ length: 50 }, () => refundCommand(keys[n % keys.length], n++));
        await appendToOutbox(manager, COMMANDS_TOPIC, ...envelopes);
      });
    }
    const rows = await appliedOnceInKeyOrder('pay_order_', 1000, 60_000);
    for (const key of keys) expect(rows.filter((r) => r.key === key)).toHaveLength(100);
  }, 90_000);

  it('publishes messages of one key that together pass Kafka\'s 1 MB batch limit, in passes small enough, in order', async () => {
    // six 300 kB messages of one key: one partition, and one batch of 1.8 MB if sent in one request
    await dataSource.query(
      `INSERT INTO outbox (id, topic, key, type, payload)
       SELECT gen_random_uuid(), $1, 'batch_large', 'Large', jsonb_build_object('n', n, 'pad', repeat('x', 300 * 1024)) FROM generate_series(1, 6) AS n`,
      [COMMANDS_TOPIC],
    );
    await outboxEmptied();
    const messages = await readTopic(kafka, prefix + COMMANDS_TOPIC, (m) => m.length >= 6);
    expect(messages.map((m) => [m.key, (m.value as { n: number }).n])).toEqual([1, 2, 3, 4, 5, 6].map((n) => ['batch_large', n]));
  }, 60_000);

  it('sends poison messages to the dead-letter topic with the reason in headers', async () => {
    await startConsumer('test.poison');
    const main = prefix + COMMANDS_TOPIC;
    await producer.send({ topic: main, messages: [
      { key: 'pay_poison', value: 'this is not json' },
      { key: 'pay_poison', value: JSON.stringify({ ...refundCommand('pay_poison', 1), type: 'ExplodePayment' }) },
    ] });
    const dead = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.filter((x) => x.headers['x-retry-group'] === 'test.poison').length >= 2);
    const ours = dead.filter((m) => m.headers['x-retry-group'] === 'test.poison');
    expect(ours.map((m) => m.headers['x-error-code'])).toEqual(['CONTRACTS.VIOLATION', 'CONTRACTS.VIOLATION']);
    expect(ours[0].headers['x-error-message']).toMatch(/unreadable message/);
    expect(ours[1].headers['x-error-message']).toMatch(/unknown message type: ExplodePayment/);
    expect(ours[0].headers['x-original-topic']).toBe(main);
    expect(ours[0].headers['x-original-offset']).toMatch(/^\d+$/);
    expect(await effects('pay_poison')).toEqual([]);
  });

  it('passes over the types a group does not apply, one breaking its contract too: no inbox row, no dead letter', async () => {
    await startConsumer('test.typed', recordEffect, [200, 400], { types: new Set(['RequestRefund']) });
    const main = prefix + COMMANDS_TOPIC;
    const refunds = Array.from({ length: 4 }, (_, i) => refundCommand('pay_typed', i));
    // a CancelPayment carrying a refund's data breaks its contract: a group applying it would dead-letter it
    const others = refunds.map((envelope) => ({ ...envelope, id: `${envelope.id}x`, type: 'CancelPayment' }));
    await producer.send({ topic: main, messages: refunds.flatMap((envelope, i) => [envelope, others[i]]).map((envelope) => ({ key: 'pay_typed', value: JSON.stringify(envelope) })) });
    await appliedOnceInKeyOrder('pay_typed', 4, 20_000);
    const inbox: Array<{ message_id: string }> = await dataSource.query('SELECT message_id FROM inbox WHERE consumer_group = $1 ORDER BY message_id', ['test.typed']);
    expect(inbox.map((row) => row.message_id)).toEqual(refunds.map((envelope) => envelope.id).sort());
    // a message of a type it applies that is not JSON still goes to the dead-letter topic, and alone
    await producer.send({ topic: main, messages: [{ key: 'pay_typed', value: 'this is not json' }] });
    const dead = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.some((x) => x.headers['x-retry-group'] === 'test.typed'));
    expect(dead.filter((m) => m.headers['x-retry-group'] === 'test.typed').map((m) => m.headers['x-error-message'])).toEqual([expect.stringMatching(/unreadable message/)]);
  });

  it('retries a failing message with back-off, then dead-letters it; a transient failure is applied once', async () => {
    // the deliveries each message reached the handler in (a batch that fails is applied again one by one, so a
    // delivery may reach the handler twice; what counts is which deliveries did)
    const attempts = new Map<number, Set<number>>();
    await startConsumer('test.retry', async (envelope, context) => {
      const n = Number((envelope.data as { refundId: string }).refundId.slice(1));
      attempts.set(n, (attempts.get(n) ?? new Set()).add(context.attempt));
      if (n === 1) throw new Error('downstream always down');
      if (n === 2 && context.attempt === 0) throw new Error('downstream blinked');
      if (n === 3) throw new PermanentError('PAYMENTS.UNPROCESSABLE', 'cannot ever apply this');
      await recordEffect(envelope, context);
    });
    const always = refundCommand('pay_retry_a', 1);
    const once = refundCommand('pay_retry_b', 2);
    const permanent = refundCommand('pay_retry_c', 3);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, always, once, permanent));

    const dead = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.filter((x) => x.headers['x-retry-group'] === 'test.retry').length >= 2);
    const ours = dead.filter((m) => m.headers['x-retry-group'] === 'test.retry');
    const byKey = Object.fromEntries(ours.map((m) => [m.key, m.headers]));
    expect(byKey['pay_retry_a']).toMatchObject({ 'x-error-message': 'downstream always down', 'x-attempt': '2', 'x-original-topic': prefix + COMMANDS_TOPIC });
    expect(byKey['pay_retry_c']).toMatchObject({ 'x-error-code': 'PAYMENTS.UNPROCESSABLE' });
    expect([...attempts.get(1)!].sort()).toEqual([0, 1, 2]); // first delivery + two retries
    expect([...attempts.get(3)!]).toEqual([0]); // permanent: no retry
    const applied = await eventually(async () => ((await effects('pay_retry_b')).length ? effects('pay_retry_b') : undefined));
    expect(applied.map((r) => r.message_id)).toEqual([once.id]);
    expect([...attempts.get(2)!].sort()).toEqual([0, 1]);
  }, 60_000);

  it('keeps a key\'s order through the retry topic: its later messages wait behind the failed one, other keys go on', async () => {
    await startConsumer('test.parked', async (envelope, context) => {
      const n = Number((envelope.data as { refundId: string }).refundId.slice(1));
      if (envelope.key === 'pay_parked_a' && n === 1 && context.attempt === 0) throw new Error('downstream blinked');
      await recordEffect(envelope, context);
    });
    const a = [1, 2, 3].map((n) => refundCommand('pay_parked_a', n));
    const b = [1, 2].map((n) => refundCommand('pay_parked_b', n));
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, a[0], b[0], a[1], b[1], a[2]));

    const rows = await eventually(async () => ((await effects('pay_parked_a')).length >= 3 ? effects('pay_parked_a') : undefined), 30_000, 200);
    expect(rows.map((r) => r.message_id)).toEqual(a.map((e) => e.id));
    expect((await effects('pay_parked_b')).map((r) => r.message_id)).toEqual(b.map((e) => e.id));
    // the key is unparked once the last message held behind the failed one is applied
    expect(await eventually(async () => ((await parkedKeys('test.parked')).length === 0 ? true : undefined), 10_000, 200)).toBe(true);
    const retried = await readTopic(kafka, prefix + retryTopic(COMMANDS_TOPIC), (m) => m.length >= 3);
    expect(retried.map((m) => [m.key, m.headers['x-error-code']])).toEqual([['pay_parked_a', 'HANDLER_FAILED'], ['pay_parked_a', 'KEY_PARKED'], ['pay_parked_a', 'KEY_PARKED']]);

    // with the key unparked, its next message is applied from the main topic again
    const fourth = refundCommand('pay_parked_a', 4);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, fourth));
    await eventually(async () => ((await effects('pay_parked_a')).length >= 4 ? true : undefined), 20_000, 200);
    expect(await readTopic(kafka, prefix + retryTopic(COMMANDS_TOPIC), (m) => m.length > 3, 2000)).toHaveLength(3);
  }, 60_000);

  it('keeps the held messages behind one that fails again in the retry topic, and lets them go once it is dead-lettered', async () => {
    // the attempts each message reached the handler in (a batch that fails is applied again one by one)
    const attempts = new Map<string, Set<number>>();
    await startConsumer('test.parked-again', async (envelope, context) => {
      const n = Number((envelope.data as { refundId: string }).refundId.slice(1));
      const id = `${envelope.key}/${n}`;
      attempts.set(id, (attempts.get(id) ?? new Set()).add(context.attempt));
      if (n === 1 && envelope.key === 'pay_again_fails' && context.attempt < 2) throw new Error(`failed on attempt ${context.attempt}`);
      if (n === 1 && envelope.key === 'pay_again_dead') throw new Error('never applies');
      await recordEffect(envelope, context);
    });
    const fails = [1, 2, 3].map((n) => refundCommand('pay_again_fails', n));
    const dead = [1, 2].map((n) => refundCommand('pay_again_dead', n));
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, fails[0], dead[0], fails[1], dead[1], fails[2]));

    const rows = await eventually(async () => ((await effects('pay_again_fails')).length >= 3 ? effects('pay_again_fails') : undefined), 30_000, 200);
    expect(rows.map((r) => r.message_id)).toEqual(fails.map((e) => e.id));
    expect([...attempts.get('pay_again_fails/1')!].sort()).toEqual([0, 1, 2]); // the first try, then two in the retry topic, in place
    const deadRows = await eventually(async () => ((await effects('pay_again_dead')).length >= 1 ? effects('pay_again_dead') : undefined), 30_000, 200);
    expect(deadRows.map((r) => r.message_id)).toEqual([dead[1].id]);
    const dlt = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.some((x) => x.headers['x-retry-group'] === 'test.parked-again'));
    expect(dlt.filter((m) => m.headers['x-retry-group'] === 'test.parked-again').map((m) => [m.key, m.headers['x-attempt']])).toEqual([['pay_again_dead', '2']]);
    expect(await eventually(async () => ((await parkedKeys('test.parked-again')).length === 0 ? true : undefined), 10_000, 200)).toBe(true);
  }, 60_000);

  it('holds a key\'s later messages behind one whose prepare failed, without preparing them before it', async () => {
    const prepared: number[] = [];
    let failed = false;
    await startConsumer('test.parked-prepare', recordEffect, undefined, {
      prepare: async (envelope) => {
        const n = Number((envelope.data as { refundId: string }).refundId.slice(1));
        if (n === 1 && !failed) {
          failed = true;
          throw new Error('the other system blinked');
        }
        prepared.push(n);
      },
    });
    const envelopes = [1, 2, 3].map((n) => refundCommand('pay_parked_prepare', n));
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, ...envelopes));

    const rows = await eventually(async () => ((await effects('pay_parked_prepare')).length >= 3 ? effects('pay_parked_prepare') : undefined), 30_000, 200);
    expect(rows.map((r) => r.message_id)).toEqual(envelopes.map((e) => e.id));
    // 2 and 3 were held without being prepared: each is prepared once, in the retry topic, after 1
    expect(prepared).toEqual([1, 2, 3]);
    expect(await eventually(async () => ((await parkedKeys('test.parked-prepare')).length === 0 ? true : undefined), 10_000, 200)).toBe(true);
  }, 60_000);

  it('dead-letters at once a message whose handler writes a message breaking its contract: no retry can mend it, and its key is not held', async () => {
    await startConsumer('test.breaks-contract', async (envelope, context) => {
      const n = Number((envelope.data as { refundId: string }).refundId.slice(1));
      if (n === 1) await appendToOutbox(context.manager, COMMANDS_TOPIC, { ...refundCommand(envelope.key, 99), type: 'ExplodePayment' });
      await recordEffect(envelope, context);
    });
    const [first, second] = [1, 2].map((n) => refundCommand('pay_breaks_contract', n));
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, first, second));

    const dead = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.some((x) => x.headers['x-retry-group'] === 'test.breaks-contract'));
    expect(dead.filter((m) => m.headers['x-retry-group'] === 'test.breaks-contract').map((m) => [m.key, m.headers['x-error-code']])).toEqual([['pay_breaks_contract', 'CONTRACTS.VIOLATION']]);
    const rows = await eventually(async () => ((await effects('pay_breaks_contract')).length ? effects('pay_breaks_contract') : undefined), 20_000, 200);
    expect(rows.map((r) => r.message_id)).toEqual([second.id]);
    expect(await readTopic(kafka, prefix + retryTopic(COMMANDS_TOPIC), () => true, 2000)).toEqual([]);
    expect(await parkedKeys('test.breaks-contract')).toEqual([]);
  }, 60_000);

  it('waits out a database that drops its connections instead of sending the message to retry, and keeps the key\'s order', async () => {
    let dropped = 0;
    const attempts: number[] = [];
    await startConsumer('test.db-away', async (envelope, context) => {
      attempts.push(context.attempt);
      // the first deliveries find their connection terminated by the server, as in a failover
      if (dropped < 2) {
        dropped++;
        await context.manager.query('SELECT pg_terminate_backend(pg_backend_pid())');
      }
      await recordEffect(envelope, context);
    });
    const [first, second] = [1, 2].map((n) => refundCommand('pay_db_away', n));
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, first, second));

    const rows = await eventually(async () => ((await effects('pay_db_away')).length >= 2 ? effects('pay_db_away') : undefined), 30_000, 200);
    expect(rows.map((r) => r.message_id)).toEqual([first.id, second.id]);
    expect(dropped).toBe(2);
    expect(attempts.every((a) => a === 0)).toBe(true); // never through the retry topic
    const retried = await readTopic(kafka, prefix + retryTopic(COMMANDS_TOPIC), () => true, 2000);
    expect(retried.filter((m) => m.headers['x-retry-group'] === 'test.db-away')).toEqual([]);
  }, 60_000);

  it('dead-letters a poison message once when its batch is tried again after the database dropped its connection', async () => {
    let dropped = false;
    await startConsumer('test.db-away-poison', async (envelope, context) => {
      if (!dropped) {
        dropped = true;
        await context.manager.query('SELECT pg_terminate_backend(pg_backend_pid())');
      }
      await recordEffect(envelope, context);
    });
    const valid = refundCommand('pay_db_away_poison', 1);
    await producer.send({ topic: prefix + COMMANDS_TOPIC, messages: [
      { key: 'pay_db_away_poison', value: 'this is not json' },
      { key: 'pay_db_away_poison', value: JSON.stringify(valid) },
    ] });

    await eventually(async () => ((await effects('pay_db_away_poison')).length ? true : undefined), 30_000, 200);
    expect(dropped).toBe(true);
    const ours = (m: { headers: Record<string, string> }) => m.headers['x-retry-group'] === 'test.db-away-poison';
    const dead = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.filter(ours).length >= 2, 8000);
    expect(dead.filter(ours).map((m) => m.headers['x-error-code'])).toEqual(['CONTRACTS.VIOLATION']);
  }, 60_000);

  it('prepares a message again when the database drops its connection during prepare, in its key\'s order', async () => {
    let dropped = 0;
    const prepared: number[] = [];
    await startConsumer('test.db-away-prepare', recordEffect, undefined, {
      prepare: async (envelope) => {
        const n = Number((envelope.data as { refundId: string }).refundId.slice(1));
        if (n === 1 && dropped < 2) {
          dropped++;
          await dataSource.query('SELECT pg_terminate_backend(pg_backend_pid())');
        }
        prepared.push(n);
      },
    });
    const [first, second] = [1, 2].map((n) => refundCommand('pay_db_away_prepare', n));
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, first, second));

    const rows = await eventually(async () => ((await effects('pay_db_away_prepare')).length >= 2 ? effects('pay_db_away_prepare') : undefined), 30_000, 200);
    expect(rows.map((r) => r.message_id)).toEqual([first.id, second.id]);
    expect([dropped, prepared]).toEqual([2, [1, 2]]); // the second waited for the first
    expect(await readTopic(kafka, prefix + retryTopic(COMMANDS_TOPIC), () => true, 2000)).toEqual([]);
  }, 60_000);

  /** Publishes the envelopes and waits until the relay has sent them all, so a consumer started next finds them waiting. */
  async function published(...envelopes: ReturnType<typeof refundCommand>[]): Promise<void> {
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, ...envelopes));
    await outboxEmptied();
  }

  /** The backends holding the relay lock in this database: the leading relay's connection, if any. */
  async function relayLockHolders(): Promise<number[]> {
    const rows: Array<{ pid: number }> = await dataSource.query(
      `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'outbox-relay' AND a.datname = current_database()`,
    );
    return rows.map((row) => row.pid);
  }

  /** Waits until the relay has sent every outbox row and deleted it. */
  async function outboxEmptied(): Promise<void> {
    await eventually(async () => ((await dataSource.query('SELECT count(*)::int AS n FROM outbox'))[0].n === 0 ? true : undefined), 20_000, 100);
  }

  it('applies the messages a fetch brings in one transaction per partition batch, each exactly once', async () => {
    const envelopes = Array.from({ length: 300 }, (_, i) => refundCommand(`pay_batch_${i % 3}`, i));
    await published(...envelopes);
    const transactions = new Map<string, string>();
    await startConsumer('test.batch', async (envelope, context) => {
      const [{ txid }] = await context.manager.query('SELECT txid_current()::text AS txid');
      transactions.set(envelope.id, txid);
      await recordEffect(envelope, context);
    });
    await appliedOnceInKeyOrder('pay_batch_', 300, 30_000);
    // one commit per batch, not per message
    expect(new Set(transactions.values()).size).toBeLessThanOrEqual(30);
  }, 60_000);

  it('runs each transaction\'s handlers inside withBatch, which is given exactly the messages they handle', async () => {
    const envelopes = Array.from({ length: 120 }, (_, i) => refundCommand(`pay_wrap_${i % 4}`, i));
    await published(...envelopes);
    const announced = new Map<string, string[]>();
    const handledIn = new Map<string, string[]>();
    const txid = async (manager: EntityManager) => (await manager.query('SELECT txid_current()::text AS txid'))[0].txid as string;
    await startConsumer('test.wrap', async (envelope, context) => {
      const tx = await txid(context.manager);
      handledIn.set(tx, [...(handledIn.get(tx) ?? []), envelope.id]);
      await recordEffect(envelope, context);
    }, undefined, {
      withBatch: async (batch, manager, handleAll) => {
        announced.set(await txid(manager), batch.map((e) => e.id));
        return handleAll();
      },
    });
    await appliedOnceInKeyOrder('pay_wrap_', 120, 30_000);
    // every handler ran inside a wrapped transaction that had announced exactly what it then handled
    expect([...handledIn.values()].flat()).toHaveLength(120);
    for (const [tx, ids] of handledIn) expect(announced.get(tx)).toEqual(ids);
  }, 60_000);

  it('a message that fails inside a batch is retried alone; its neighbours are applied once, in order', async () => {
    const envelopes = Array.from({ length: 40 }, (_, i) => refundCommand('pay_batch_bad', i));
    await published(...envelopes);
    await startConsumer('test.batch-bad', async (envelope, context) => {
      if (envelope.id === envelopes[20].id) throw new PermanentError('PAYMENTS.UNPROCESSABLE', 'refund 20 is unprocessable');
      await recordEffect(envelope, context);
    });
    const dead = await readTopic(kafka, prefix + deadLetterTopic(COMMANDS_TOPIC), (m) => m.some((x) => x.headers['x-retry-group'] === 'test.batch-bad'));
    expect(dead.filter((m) => m.headers['x-retry-group'] === 'test.batch-bad').map((m) => m.headers['x-error-message'])).toEqual(['refund 20 is unprocessable']);
    const rows = await eventually(async () => {
      const all = await effects('pay_batch_bad');
      return all.length >= 39 ? all : undefined;
    }, 20_000, 200);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 20));
  }, 60_000);

  it('a slow message holds up only its own partition; the others go on, and its own keep their order', async () => {
    const topic = prefix + COMMANDS_TOPIC;
    const send = (partition: number, ...envelopes: ReturnType<typeof refundCommand>[]) =>
      producer.send({ topic, acks: -1, messages: envelopes.map((e) => ({ key: e.key, value: JSON.stringify(e), partition })) });
    const slow = refundCommand('pay_lane_slow', 0);
    let slowDone = 0;
    const transactionOf = new Map<string, string>();
    const recordInTransaction: MessageHandler = async (envelope, context) => {
      transactionOf.set(envelope.id, (await context.manager.query('SELECT txid_current()::text AS txid'))[0].txid);
      await recordEffect(envelope, context);
    };
    await startConsumer('test.lanes', recordInTransaction, undefined, {
      // a call to another system that takes its time (an AMS call waiting out its timeout)
      prepare: async (envelope) => {
        if (envelope.id !== slow.id) return;
        await sleep(4000);
        slowDone = Date.now();
      },
    });
    await send(0, slow);
    await sleep(500); // the slow message is fetched and being prepared
    const fastSentAt = Date.now();
    await send(1, ...Array.from({ length: 5 }, (_, i) => refundCommand('pay_lane_fast', i)));
    // more for the slow partition, one fetch at a time, so batches queue up behind the slow one
    const behind = Array.from({ length: 6 }, (_, i) => refundCommand('pay_lane_slow', i + 1));
    for (const envelope of behind) {
      await send(0, envelope);
      await sleep(100);
    }
    await appliedOnceInKeyOrder('pay_lane_fast', 5, 10_000);
    const fastAppliedAt = Date.now();
    expect(fastAppliedAt - fastSentAt).toBeLessThan(2500);
    expect(slowDone).toBe(0); // the slow one is still under way
    const rows = await appliedOnceInKeyOrder('pay_lane_', 12, 15_000);
    expect(rows.filter((r) => r.key === 'pay_lane_slow').map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(slowDone).toBeGreaterThan(fastAppliedAt);
    // a key's message is prepared only once the one before it is applied, so each of these has a transaction of its own
    expect(new Set([slow, ...behind].map((e) => transactionOf.get(e.id))).size).toBe(behind.length + 1);
  }, 60_000);

  it('slow calls hold up only the later messages of their keys: the partition\'s other keys go on, and the committed offset stays before them', async () => {
    const topic = prefix + COMMANDS_TOPIC;
    // five calls that take their time, each fetched on its own, more than a plain lane's depth of batches
    const slow = Array.from({ length: 5 }, (_, i) => refundCommand(`pay_key_slow_${i}`, 0));
    const slowIds = new Set(slow.map((e) => e.id));
    let slowDone = 0;
    const consumer = await startConsumer('test.keys', recordEffect, undefined, {
      prepare: async (envelope) => {
        if (!slowIds.has(envelope.id)) return;
        await sleep(4000);
        slowDone = Date.now();
      },
      commitIntervalMs: 200,
    });
    const send = (...envelopes: ReturnType<typeof refundCommand>[]) =>
      producer.send({ topic, acks: -1, messages: envelopes.map((e) => ({ key: e.key, value: JSON.stringify(e), partition: 0 })) });
    const committed = async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [{ partitions }] = await admin.fetchOffsets({ groupId: consumer.kafkaGroupId, topics: [topic] });
        return Number(partitions.find((p) => p.partition === 0)!.offset);
      } finally {
        await admin.disconnect();
      }
    };
    for (const envelope of slow) {
      await send(envelope);
      await sleep(100);
    }
    await sleep(300); // the slow messages are fetched and being prepared
    const sentAt = Date.now();
    await send(refundCommand('pay_key_slow_0', 1), ...Array.from({ length: 5 }, (_, i) => refundCommand(`pay_key_other_${i}`, 0)));
    await appliedOnceInKeyOrder('pay_key_other_', 5, 10_000);
    expect(Date.now() - sentAt).toBeLessThan(2500);
    expect(slowDone).toBe(0);
    expect((await effects()).filter((r) => r.key.startsWith('pay_key_slow_'))).toEqual([]);
    await sleep(600); // a few commit intervals
    expect(await committed()).toBeLessThanOrEqual(0); // nothing past the first slow message (offset 0) is committed
    const rows = await appliedOnceInKeyOrder('pay_key_', 11, 10_000);
    expect(rows.filter((r) => r.key === 'pay_key_slow_0').map((r) => r.n)).toEqual([0, 1]);
    expect(await eventually(async () => ((await committed()) === 11 ? 11 : undefined), 5000, 200)).toBe(11);
  }, 60_000);

  it('stops within about a second while its fetch waits on idle partitions', async () => {
    const consumer = await startConsumer('test.stop');
    await sleep(2500); // joined, and a fetch is waiting on partitions with nothing to read
    const started = Date.now();
    await consumer.stop();
    consumers = consumers.filter((c) => c !== consumer);
    // kafkajs lets the fetch under way finish before it leaves the group; the broker holds one at most FETCH_WAIT_MS
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('commits settled offsets on its interval rather than per batch, and once more when it stops', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const topic = prefix + COMMANDS_TOPIC;
    /** committed minus end offset over the topic's partitions: 0 once everything consumed is committed */
    const uncommitted = async (groupId: string) => {
      const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const at = new Map(committed.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
      return ends.reduce((sum, end) => sum + Number(end.high) - (at.get(end.partition) ?? 0), 0);
    };
    const applied = (n: number) => eventually(async () => ((await effects('pay_offsets')).length >= n ? true : undefined), 20_000, 100);
    try {
      await published(...Array.from({ length: 5 }, (_, i) => refundCommand('pay_offsets', i)));
      const slow = await startConsumer('test.offsets', recordEffect, undefined, { commitIntervalMs: 60_000 });
      await applied(5);
      await sleep(500);
      expect(await uncommitted(slow.kafkaGroupId)).toBe(5); // applied, not committed yet: no commit per batch
      await slow.stop();
      consumers = consumers.filter((c) => c !== slow);
      expect(await uncommitted(slow.kafkaGroupId)).toBe(0);

      // a member that stays up commits on its interval, with no further batch to trigger it
      const redelivered: string[] = [];
      const quick = await startConsumer('test.offsets', recordEffect, undefined, {
        commitIntervalMs: 200,
        onProcessed: (envelope, wasApplied) => !wasApplied && redelivered.push(envelope.id),
      });
      await published(...Array.from({ length: 3 }, (_, i) => refundCommand('pay_offsets', 5 + i)));
      await applied(8);
      await eventually(async () => ((await uncommitted(quick.kafkaGroupId)) === 0 ? true : undefined), 5_000, 100);
      // the new member resumed from the commit made on stop: none of the first five came again
      expect(redelivered).toEqual([]);
      expect((await effects('pay_offsets')).map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('forgets processed message ids only after the retention, in batches', async () => {
    const group = `test.prune.${prefix}`;
    const remember = (ids: string[], hoursAgo: number) =>
      dataSource.query(
        `INSERT INTO inbox (consumer_group, message_id, topic, processed_at) SELECT $1, id, 'x', now() - make_interval(hours => $3) FROM unnest($2::text[]) AS id`,
        [group, ids, hoursAgo],
      );
    const ids = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
    await remember(ids('old', 25), 400);
    await remember(ids('edge', 3), 335); // inside a 336 h retention
    await remember(ids('new', 4), 0);
    const pruner = inboxPruner(dataSource, logger, new Metrics('test'), { retentionHours: 336, batchSize: 10 });
    expect(await pruner.prune()).toBe(25); // three full batches and a partial one
    const left: Array<{ message_id: string }> = await dataSource.query('SELECT message_id FROM inbox WHERE consumer_group = $1 ORDER BY message_id', [group]);
    expect(left.map((r) => r.message_id)).toEqual([...ids('edge', 3), ...ids('new', 4)].sort());
    expect(await pruner.prune()).toBe(0);
  });

  it('does not apply a message twice when the consumer dies after its side effect but before committing the offset', async () => {
    const envelope = refundCommand('pay_crash', 7);
    await dataSource.transaction((manager) => appendToOutbox(manager, COMMANDS_TOPIC, envelope));
    const run = (crash: boolean) => {
      const child = spawn(process.execPath, [path.resolve(__dirname, '../../dist/libs/shared/testing/src/fixtures/crash-after-commit-consumer.js')], {
        env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_TOPIC_PREFIX: prefix, GROUP_ID: 'test.crash', CRASH_AFTER_COMMIT: crash ? '1' : '0' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines: Array<{ processed: string; applied: boolean }> = [];
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l))));
      return { child, lines };
    };

    const first = run(true);
    const signal = await new Promise((resolve) => first.child.once('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(first.lines).toEqual([{ processed: envelope.id, applied: true }]);

    const second = run(false);
    try {
      // the offset was never committed, so the message comes again; the inbox recognises it
      await eventually(() => (second.lines.length ? true : undefined), 60_000);
      expect(second.lines[0]).toEqual({ processed: envelope.id, applied: false });
      await sleep(500);
      expect((await effects('pay_crash')).map((r) => r.message_id)).toEqual([envelope.id]);
    } finally {
      second.child.kill('SIGTERM');
    }
  }, 90_000);
});
