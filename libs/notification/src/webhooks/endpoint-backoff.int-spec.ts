import type { DataSource } from 'typeorm';
import { Metrics } from '@upm/shared-observability';
import { eventually, freshDatabase, sleep } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from '../database';
import type { NotificationOptions } from '../notification.options';
import { endpointsService, hang, HOUR, metricValue, paymentEvent as event, testOptions, WebhookReceiver, webhookWorker } from '../testing/webhook-test-kit';
import { enqueueWebhookDeliveries } from './webhook-deliveries.consumer';
import type { EndpointView } from './webhook-endpoints.service';

/** Endpoints that fail again and again are held back, so that they cannot fill the worker pool: against the real database and real HTTP receivers. */
let dataSource: DataSource;
const metrics = new Metrics('notification-test');
const options = testOptions({
  // an endpoint held back waits 0.5–1 s before its first probe, then up to 2 s
  retry: { baseDelayMs: 1000, maxDelayMs: 2000, horizonMs: HOUR },
  requestTimeoutMs: 500,
  pollIntervalMs: 20,
});
const endpoints = (opts = options) => endpointsService(dataSource, opts);
const worker = (opts = options) => webhookWorker(dataSource, opts, metrics);

const paymentEvent = (merchantId: string, paymentId: string, sequence = 1) => event('PaymentSucceeded', merchantId, paymentId, sequence);

async function status(eventId: string): Promise<string> {
  return (await dataSource.query('SELECT status FROM webhook_deliveries WHERE event_id = $1', [eventId]))[0].status;
}

const deadLetters = () => metricValue(metrics, 'upm_webhook_deliveries_total', { outcome: 'dead_letter' });
const backingOff = () => metricValue(metrics, 'upm_webhook_endpoints_backing_off');

/** The requests in flight to each endpoint, from the claims in the database. */
async function inFlight(): Promise<number[]> {
  const rows: Array<{ n: number }> = await dataSource.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE leased_until >= now() GROUP BY endpoint_id');
  return rows.map((r) => r.n);
}

const receivers: WebhookReceiver[] = [];
async function receiver(): Promise<WebhookReceiver> {
  const started = await new WebhookReceiver().listen();
  receivers.push(started);
  return started;
}

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_webhook_backoff', NOTIFICATION_DATABASE));
});

afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
  await dataSource.query('TRUNCATE webhook_deliveries, webhook_attempts');
});

afterAll(async () => {
  await dataSource.destroy();
});

describe('endpoint back-off', () => {
  it('holds back endpoints that never answer, one slot each at most, so another merchant\'s delivery goes out at once', async () => {
    // six endpoints that hang until the timeout: without a back-off they would take 6 × 4 slots of a pool of 10,
    // for as long as their backlog lasts, and every other delivery would wait behind it
    for (let e = 0; e < 6; e++) {
      const hanging = await receiver();
      hanging.respond = hang;
      await endpoints().create(`mer_HANG_${e}`, { url: hanging.url, eventTypes: ['*'] });
      const backlog = Array.from({ length: 30 }, (_, i) => paymentEvent(`mer_HANG_${e}`, `pay_HANG_${e}_${i}`));
      await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, backlog, HOUR));
    }
    const healthy = await receiver();
    await endpoints().create('mer_HEALTHY', { url: healthy.url, eventTypes: ['*'] });

    const pool = worker();
    pool.onApplicationBootstrap();
    try {
      // each hanging endpoint fails its first requests and is held back from then on
      await sleep(2500);
      for (let i = 0; i < 10; i++) {
        expect(Math.max(0, ...(await inFlight()))).toBeLessThanOrEqual(1);
        await sleep(50);
      }
      expect(await backingOff()).toBe(6);

      const event = paymentEvent('mer_HEALTHY', 'pay_HEALTHY');
      const enqueued = Date.now();
      await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
      await eventually(async () => ((await status(event.id)) === 'DELIVERED' ? true : undefined), 10_000, 10);
      // sooner than one hanging request times out: it waited for no slot
      expect(Date.now() - enqueued).toBeLessThan(options.requestTimeoutMs);
      expect(healthy.delivered).toEqual([event.id]);
    } finally {
      await pool.onModuleDestroy();
      // the attempts under way are recorded before the tables are emptied
      await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 10_000);
    }
  });

  it('starts no delivery to an endpoint that begins to hang once its failures and the requests still in flight reach the threshold', async () => {
    // a hold of 10–20 s: no probe goes out during the test, so every request it gets is one started before the hold
    const slow: NotificationOptions = { ...options, retry: { baseDelayMs: 20_000, maxDelayMs: 20_000, horizonMs: HOUR } };
    const hanging = await receiver();
    hanging.respond = hang;
    const service = endpoints(slow);
    const { endpointId } = await service.create('mer_NEWLY_HANGING', { url: hanging.url, eventTypes: ['*'] });
    const backlog = Array.from({ length: 12 }, (_, i) => paymentEvent('mer_NEWLY_HANGING', `pay_NEWLY_HANGING_${i}`));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, backlog, HOUR));
    // a steady flow, one due every 100 ms: the requests in flight started at different times, so their timeouts
    // land one after another, as they do when a busy receiver starts to hang
    await dataSource.query(
      `UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => 0.1 * o.n)
         FROM (SELECT id, row_number() OVER (ORDER BY seq) - 1 AS n FROM webhook_deliveries WHERE endpoint_id = $1) o WHERE d.id = o.id`,
      [endpointId],
    );

    const pool = worker(slow);
    pool.onApplicationBootstrap();
    try {
      await eventually(async () => ((await service.get('mer_NEWLY_HANGING', endpointId)).backoff ? true : undefined), 5000, 20);
      await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 5000, 20);
      await sleep(300);
      // the requests under way when it started to hang, and not one more: after its first failure, those in flight
      // were enough to reach the threshold, so nothing else was started before the hold decided
      expect(hanging.requests.length).toBe(slow.perEndpointConcurrency);
      expect((await service.get('mer_NEWLY_HANGING', endpointId)).backoff).toEqual({ consecutiveFailures: slow.perEndpointConcurrency, nextProbeAt: expect.any(String) });
    } finally {
      await pool.onModuleDestroy();
      await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 10_000);
    }
  });

  it('keeps holding across a restart, probes with one request at a time, and sends the whole backlog, each payment in order, once the endpoint is back', async () => {
    const comeback = await receiver();
    comeback.respond = hang;
    const service = endpoints();
    const { endpointId } = await service.create('mer_BACK', { url: comeback.url, eventTypes: ['*'] });
    const events = [0, 1, 2].flatMap((p) => [1, 2, 3].map((sequence) => paymentEvent('mer_BACK', `pay_BACK_${p}`, sequence)));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, events, HOUR));

    const first = worker();
    first.onApplicationBootstrap();
    let view: EndpointView;
    try {
      view = await eventually(async () => ((await service.get('mer_BACK', endpointId)).backoff ? service.get('mer_BACK', endpointId) : undefined), 5000, 20);
      expect(view.backoff).toEqual({ consecutiveFailures: expect.any(Number), nextProbeAt: expect.any(String) });
      expect(view.backoff!.consecutiveFailures).toBeGreaterThanOrEqual(3);
      // from here on, one probe at a time
      await sleep(100);
      comeback.mostOpen = comeback.open;
      await sleep(2000);
      expect(comeback.mostOpen).toBeLessThanOrEqual(1);
    } finally {
      await first.onModuleDestroy();
    }

    // the back-off is in the database: a replica started now holds the endpoint back as well
    const held = await service.get('mer_BACK', endpointId);
    expect(held.backoff).toBeDefined();
    const restarted = worker();
    if (Date.parse(held.backoff!.nextProbeAt) > Date.now() + 100) expect(await restarted.dispatch()).toBe(0);

    comeback.respond = () => 200;
    restarted.onApplicationBootstrap();
    try {
      await eventually(async () => ((await Promise.all(events.map((e) => status(e.id)))).every((s) => s === 'DELIVERED') ? true : undefined), 15_000, 50);
    } finally {
      await restarted.onModuleDestroy();
    }
    // with the same event ids, each payment's in order
    expect([...comeback.delivered].sort()).toEqual(events.map((e) => e.id).sort());
    for (let p = 0; p < 3; p++) {
      const ofPayment = events.slice(p * 3, p * 3 + 3).map((e) => e.id);
      expect(comeback.delivered.filter((id) => ofPayment.includes(id))).toEqual(ofPayment);
    }
    expect((await service.get('mer_BACK', endpointId)).backoff).toBeUndefined();
  });

  it('probes again once the claim of a replica that died mid-probe lapses: the probe slot is that delivery\'s lease', async () => {
    const back = await receiver();
    const service = endpoints();
    const { endpointId } = await service.create('mer_PROBE_LOST', { url: back.url, eventTypes: ['*'] });
    // three payments: nothing but the probe's claim keeps the other two from going
    const events = [1, 2, 3].map((p) => paymentEvent('mer_PROBE_LOST', `pay_PROBE_LOST_${p}`));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, events, HOUR));
    // the rows as a replica killed while sending the probe leaves them: the endpoint held back and due for a probe,
    // and the probe's claim taken (one more attempt counted) with a lease that has not lapsed yet
    await dataSource.query("UPDATE webhook_endpoints SET consecutive_failures = 3, backoff_until = now() - interval '1 second' WHERE id = $1", [endpointId]);
    const [[{ leased_until: leasedUntil }]]: [[{ leased_until: Date }], number] = await dataSource.query(
      "UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = now() + interval '1 second' WHERE event_id = $1 RETURNING leased_until",
      [events[0].id],
    );

    const survivor = worker();
    // its probe is still under way as far as anyone can tell: no second one, though two more are due
    expect(await survivor.dispatch()).toBe(0);
    expect(back.requests.length).toBe(0);
    // once the lease lapses, a probe goes (one alone), is answered, and the endpoint's backlog follows
    expect(await eventually(async () => (await survivor.dispatch()) || undefined, 5000, 20)).toBe(1);
    // the probe started only once the lease the dead replica held had lapsed (the lease as stored, not a test clock);
    // its attempt is recorded once it is answered
    const probed = await eventually(async () => {
      const [{ first }]: Array<{ first: Date | null }> = await dataSource.query(
        'SELECT min(a.started_at) AS first FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1',
        [endpointId],
      );
      return first ?? undefined;
    }, 5000, 20);
    expect(probed.getTime()).toBeGreaterThanOrEqual(leasedUntil.getTime());
    await eventually(async () => {
      await survivor.dispatch();
      return (await Promise.all(events.map((e) => status(e.id)))).every((s) => s === 'DELIVERED') ? true : undefined;
    }, 5000, 20);
    expect([...back.delivered].sort()).toEqual(events.map((e) => e.id).sort());
    expect((await service.get('mer_PROBE_LOST', endpointId)).backoff).toBeUndefined();
    expect((await dataSource.query('SELECT attempts FROM webhook_deliveries WHERE event_id = $1', [events[0].id]))[0].attempts).toBe(2);
  });

  it('counts in upm_webhook_endpoints_backing_off the endpoints held back, from their rows: none a new URL, a re-delivery, a deletion or a disabling took out', async () => {
    worker(); // registers the gauge
    const before = await backingOff();
    const service = endpoints();
    const ids: Record<'kept' | 'moved' | 'redelivered' | 'deleted' | 'disabled', string> = { kept: '', moved: '', redelivered: '', deleted: '', disabled: '' };
    for (const name of Object.keys(ids) as Array<keyof typeof ids>) {
      ({ endpointId: ids[name] } = await service.create(`mer_GAUGE_${name}`, { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] }));
    }
    const event = paymentEvent('mer_GAUGE_redelivered', 'pay_GAUGE');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    // held back as the worker leaves them after failing again and again, the next probe a while away
    await dataSource.query("UPDATE webhook_endpoints SET consecutive_failures = 5, backoff_until = now() + interval '1 hour' WHERE id = ANY($1)", [Object.values(ids)]);
    expect(await backingOff()).toBe(before + 5);

    await service.update('mer_GAUGE_moved', ids.moved, { url: 'http://127.0.0.1:10/hooks' });
    await service.redeliver('mer_GAUGE_redelivered', ids.redelivered, (await dataSource.query('SELECT id FROM webhook_deliveries WHERE event_id = $1', [event.id]))[0].id);
    await service.delete('mer_GAUGE_deleted', ids.deleted);
    await service.update('mer_GAUGE_disabled', ids.disabled, { enabled: false });
    // at the next scrape, long before any probe: a disabled endpoint is not held back by the platform, nothing is sent to it at all
    expect(await backingOff()).toBe(before + 1);
    expect((await service.get('mer_GAUGE_kept', ids.kept)).backoff).toBeDefined();

    // enabled again while its hold lasts, it is held back again, and counted
    await service.update('mer_GAUGE_disabled', ids.disabled, { enabled: true });
    expect(await backingOff()).toBe(before + 2);
  });

  it('ends when the merchant moves the endpoint to a new URL: what waited goes to it at once', async () => {
    const old = await receiver();
    old.respond = hang;
    const fixed = await receiver();
    const service = endpoints();
    const { endpointId } = await service.create('mer_MOVED', { url: old.url, eventTypes: ['*'] });
    const events = Array.from({ length: 4 }, (_, i) => paymentEvent('mer_MOVED', `pay_MOVED_${i}`));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, events, HOUR));
    const sender = worker();
    expect(await sender.dispatch()).toBe(4);
    await eventually(async () => ((await service.get('mer_MOVED', endpointId)).backoff ? true : undefined), 5000, 20);
    await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 5000, 20);

    const moved = await service.update('mer_MOVED', endpointId, { url: fixed.url });
    expect(moved.backoff).toBeUndefined();
    expect(await sender.dispatch()).toBe(4);
    await eventually(async () => ((await Promise.all(events.map((e) => status(e.id)))).every((s) => s === 'DELIVERED') ? true : undefined), 5000, 20);
    expect([...fixed.delivered].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('dead-letters, without a request, what reaches its horizon while the endpoint is held back; each stream in order, and each redeliverable', async () => {
    // a horizon far shorter than the hold (10–20 s): without this the deliveries would wait, past it, for the probe
    const short: NotificationOptions = { ...options, retry: { baseDelayMs: 20_000, maxDelayMs: 20_000, horizonMs: 1500 }, requestTimeoutMs: 300 };
    const hanging = await receiver();
    hanging.respond = hang;
    const service = endpoints(short);
    const { endpointId } = await service.create('mer_STALE', { url: hanging.url, eventTypes: ['*'] });
    const [a1, a2, a3] = [1, 2, 3].map((sequence) => paymentEvent('mer_STALE', 'pay_STALE_A', sequence));
    const [b, c, d, f, g, h] = ['B', 'C', 'D', 'F', 'G', 'H'].map((p) => paymentEvent('mer_STALE', `pay_STALE_${p}`));
    const [e1, e2] = [1, 2].map((sequence) => paymentEvent('mer_STALE', 'pay_STALE_E', sequence));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [a1, a2, a3, b, c, d, e1, e2, f, g, h], short.retry.horizonMs));
    // the first of payment A keeps a later horizon, as a re-delivery gives it: those behind it must wait for it
    await dataSource.query("UPDATE webhook_deliveries SET give_up_at = now() + interval '1 hour' WHERE event_id = $1", [a1.id]);
    const deadBefore = await deadLetters();

    const pool = worker(short);
    pool.onApplicationBootstrap();
    try {
      // the first requests time out: the endpoint is held back well beyond every other horizon
      await eventually(async () => ((await service.get('mer_STALE', endpointId)).backoff ? true : undefined), 5000, 20);
      await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 5000, 20);
      const sent = hanging.requests.length;
      const stale = [b, c, d, e1, e2, f, g, h];
      await eventually(async () => ((await Promise.all(stale.map((e) => status(e.id)))).every((s) => s === 'DEAD_LETTER') ? true : undefined), 4000, 50);
      // nothing was sent for them, and each says why in its log, as any dead letter counted by the metric
      expect(hanging.requests.length).toBe(sent);
      expect((await service.get('mer_STALE', endpointId)).backoff).toBeDefined();
      expect(await deadLetters()).toBe(deadBefore + stale.length);
      const rows: Array<{ attempts: number; last_error_code: string; last_error: string }> = await dataSource.query(
        'SELECT attempts, last_error_code, last_error FROM webhook_deliveries WHERE event_id = ANY($1)', [stale.map((e) => e.id)],
      );
      for (const row of rows) expect(row).toMatchObject({ last_error_code: 'ENDPOINT_HELD_BACK', last_error: expect.stringContaining('held back') });
      // those never tried (E2 at least, behind E1) have no attempt at all
      expect(rows.filter((r) => r.attempts === 0).length).toBeGreaterThanOrEqual(1);
      expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(sent - 1);
      // A2 and A3 are past their horizon too, but wait behind A1, which is not: a stream never skips ahead
      expect(await Promise.all([a1, a2, a3].map((e) => status(e.id)))).toEqual(['PENDING', 'PENDING', 'PENDING']);

      // such a dead letter is re-delivered as any: same event id, a fresh horizon
      hanging.respond = () => 200;
      await service.redeliver('mer_STALE', endpointId, (await dataSource.query('SELECT id FROM webhook_deliveries WHERE event_id = $1', [e1.id]))[0].id);
      await service.redeliverDeadLetters('mer_STALE', endpointId, { paymentId: 'pay_STALE_B' });
      await eventually(async () => ((await Promise.all([e1, b].map((e) => status(e.id)))).every((s) => s === 'DELIVERED') ? true : undefined), 5000, 20);
      expect(hanging.delivered).toEqual(expect.arrayContaining([e1.id, b.id]));
      expect(await status(e2.id)).toBe('DEAD_LETTER');
    } finally {
      await pool.onModuleDestroy();
      await eventually(async () => ((await inFlight()).length === 0 ? true : undefined), 10_000);
    }
  });
});
