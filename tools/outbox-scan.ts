/**
 * How the outbox relay's pass costs grow with the rows it has already sent while another transaction holds
 * the database's xmin horizon back (a report ingestion, an export, a session left idle in a transaction), so
 * none of the deleted rows can be vacuumed. Prints, at each checkpoint, the relay pass's figures from
 * EXPLAIN (ANALYZE, BUFFERS), reading from the first seq (as every pass did before ADR 4) and from the relay's
 * floor, and how long a burst of messages took from its first commit until the last one was read back from Kafka.
 *
 *   node tools/build.js && node dist/tools/outbox-scan.js [--sent 60000] [--every 10000] [--burst 1000] [--no-hold] [--holder-writes]
 *
 * Needs the local PostgreSQL and Kafka (deploy/local/infra.sh up); works in a database and topics of its own.
 */
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { createEnvelope, TOPICS } from '@upm/contracts';
import { createDataSource } from '@upm/shared-database';
import { appendToOutbox, KAFKA_ENTITIES, KAFKA_MIGRATIONS, OUTBOX_PASS, OutboxRelay } from '@upm/shared-kafka';
import { createLogger, Metrics } from '@upm/shared-observability';
import { createTestTopics, recreateDatabase, testKafka, uniquePrefix } from '@upm/shared-testing';

const TOPIC = TOPICS.paymentCommands.name;
const ROWS_PER_TRANSACTION = 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sent: { type: 'string', default: '60000' },
      every: { type: 'string', default: '10000' },
      burst: { type: 'string', default: '1000' },
      'no-hold': { type: 'boolean', default: false },
      'holder-writes': { type: 'boolean', default: false },
    },
  });
  const [total, every, burst] = [values.sent, values.every, values.burst].map(Number);
  const url = await recreateDatabase('upm_test_outbox_scan');
  const dataSource = createDataSource({ name: 'upm_test_outbox_scan', entities: KAFKA_ENTITIES, migrations: KAFKA_MIGRATIONS }, { url, poolSize: 4, applicationName: 'outbox-scan' });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const kafka = testKafka('outbox-scan');
  const prefix = uniquePrefix('outbox-scan');
  await createTestTopics(kafka, prefix);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const logger = createLogger('outbox-scan', 'warn');
  const relay = new OutboxRelay(dataSource, producer, logger, new Metrics('outbox_scan'), { topicPrefix: prefix, databaseUrl: url });
  await relay.start();

  // everything the relay published, counted as it comes back
  let received = 0;
  let waiter: { count: number; resolve: () => void } | undefined;
  const reader = kafka.consumer({ groupId: `${prefix}reader`, maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({ topic: prefix + TOPIC, fromBeginning: true });
  await reader.run({
    eachBatch: async ({ batch }) => {
      received += batch.messages.length;
      if (waiter && received >= waiter.count) waiter.resolve();
    },
  });
  const receivedAtLeast = (count: number) => (received >= count ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { count, resolve })));

  // the transaction that holds the horizon back: a snapshot (an export), and an xid too with --holder-writes
  const holder = new Client({ connectionString: url, application_name: 'outbox-scan-holder' });
  await holder.connect();
  if (!values['no-hold']) {
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query('SELECT count(*) FROM inbox');
    if (values['holder-writes']) await holder.query('SELECT pg_current_xact_id()');
  }

  let written = 0;
  const write = async (count: number) => {
    for (let done = 0; done < count; done += ROWS_PER_TRANSACTION) {
      const envelopes = Array.from({ length: Math.min(ROWS_PER_TRANSACTION, count - done) }, () => refund(written++));
      await dataSource.transaction((manager) => appendToOutbox(manager, TOPIC, ...envelopes));
    }
  };

  console.log(`relay pass with ${values['no-hold'] ? 'no transaction' : values['holder-writes'] ? 'a writing transaction' : 'a read-only snapshot'} holding the horizon back; bursts of ${burst}`);
  console.log('rows sent | burst ms | pass from the first seq: buffers, ms | pass from the floor: buffers, ms | dead rows (pg_stat)');
  for (let sent = 0; sent <= total; sent += every) {
    // the burst: first commit until its last message is back from Kafka
    const started = Date.now();
    await write(burst);
    await receivedAtLeast(written);
    const burstMs = Date.now() - started;
    // from the first seq is how every pass read before the floor (ADR 4)
    const [fromStart, fromFloor] = [await explainPass(dataSource, '0'), await explainPass(dataSource, relay.floorSeq)];
    const [{ dead }] = await dataSource.query('SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relname = $1', ['outbox']);
    const figures = (plan: { buffers: number; ms: number }) => `${String(plan.buffers).padStart(7)}, ${plan.ms.toFixed(2).padStart(6)}`;
    console.log(`${String(written).padStart(9)} | ${String(burstMs).padStart(8)} | ${figures(fromStart).padStart(37)} | ${figures(fromFloor).padStart(32)} | ${dead}`);
    if (sent + every <= total) {
      await write(every - burst);
      await receivedAtLeast(written);
    }
  }

  if (!values['no-hold']) await holder.query('ROLLBACK');
  await holder.end();
  await relay.stop();
  await reader.disconnect();
  await producer.disconnect();
  await dataSource.destroy();
}

/** The relay's pass from `floor` on an idle outbox (nothing to delete), as EXPLAIN (ANALYZE, BUFFERS) reports it. */
async function explainPass(dataSource: ReturnType<typeof createDataSource>, floor: string): Promise<{ ms: number; buffers: number }> {
  const rows: Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }> }> = await dataSource.query(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${OUTBOX_PASS.text}`,
    OUTBOX_PASS.parameters({ sent: [], limit: 500, floor }),
  );
  const [{ Plan: plan, 'Execution Time': ms }] = rows[0]['QUERY PLAN'];
  return { ms, buffers: plan['Shared Hit Blocks'] + plan['Shared Read Blocks'] };
}

interface PlanNode {
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
}

function refund(n: number) {
  const paymentId = `pay_scan_${n % 997}`;
  return createEnvelope({
    type: 'RequestRefund',
    key: paymentId,
    producer: 'outbox-scan',
    data: { paymentId, refundId: `r${n}`, refundRequestId: `R-${n}`, amount: { currency: 'HKD', value: '100' }, requestedAt: new Date().toISOString() },
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
