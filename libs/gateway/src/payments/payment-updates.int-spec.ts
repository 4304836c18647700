import { Redis } from 'ioredis';
import type { PaymentStatus, PaymentViewV1 } from '@upm/contracts';
import { sleep } from '@upm/shared-testing';
import { PaymentUpdates } from './payment-updates';

/** Two gateway replicas sharing Redis: a POS waits on one, the read model changes on the other. */
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
const waiting = new PaymentUpdates(redis);
const applying = new PaymentUpdates(redis);

let n = 0;
const view = (paymentId: string, status: PaymentStatus, sequence: number) => ({ paymentId, status, sequence }) as PaymentViewV1;
const isFinal = (v: PaymentViewV1) => v.status !== 'PROCESSING';
const newer = (v: PaymentViewV1, current: PaymentViewV1) => (v.sequence > current.sequence ? v : current);

beforeAll(async () => {
  await waiting.onModuleInit();
  await applying.onModuleInit();
});

afterAll(async () => {
  await waiting.onApplicationShutdown();
  await applying.onApplicationShutdown();
  await redis.quit();
});

describe('payment updates across replicas', () => {
  it('answers a waiter from the view a wake-up carries, without reading the row again', async () => {
    const id = `pay_upd_${Date.now()}_${n++}`;
    let loads = 0;
    const answer = waiting.waitFor(id, 10_000, async () => (loads++, view(id, 'PROCESSING', 0)), isFinal, newer);
    await sleep(100);
    await applying.publish(view(id, 'SUCCEEDED', 2));
    expect(await answer).toMatchObject({ status: 'SUCCEEDED', sequence: 2 });
    expect(loads).toBe(1);
  });

  it('ignores a wake-up older than what the waiter holds, and a message it cannot read', async () => {
    const id = `pay_upd_${Date.now()}_${n++}`;
    let loads = 0;
    let settled = false;
    const answer = waiting.waitFor(id, 10_000, async () => (loads++, view(id, 'PROCESSING', 3)), isFinal, newer).finally(() => (settled = true));
    await sleep(100);
    await applying.publish(view(id, 'FAILED', 2)); // crossed with a later event
    await redis.publish('gw:payment-updated', `{"paymentId":"${id}"`);
    await sleep(300);
    expect(settled).toBe(false);
    await applying.publish(view(id, 'SUCCEEDED', 4));
    expect(await answer).toMatchObject({ status: 'SUCCEEDED', sequence: 4 });
    expect(loads).toBe(1);
  });

  it('keeps a wake-up that arrives while the waiter is still reading, rather than leaving it to the next poll', async () => {
    const id = `pay_upd_${Date.now()}_${n++}`;
    let loads = 0;
    // the first read is slow (a busy pool): the payment is final, and announced, before it answers
    const answer = waiting.waitFor(id, 20_000, async () => {
      if (loads++ > 0) return view(id, 'PROCESSING', 0);
      await applying.publish(view(id, 'SUCCEEDED', 2));
      await sleep(300);
      return view(id, 'PROCESSING', 0);
    }, isFinal, newer);
    // the next poll would read again after 5 s; the kept wake-up answers long before
    const outcome = await Promise.race([answer, sleep(3000).then(() => 'still waiting' as const)]);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', sequence: 2 });
    expect(loads).toBe(1);
  });

  it('reads again on a wake-up that carries no view, as a replica of the previous release sends it', async () => {
    const id = `pay_upd_${Date.now()}_${n++}`;
    const stored = [view(id, 'PROCESSING', 0), view(id, 'SUCCEEDED', 2)];
    let loads = 0;
    const answer = waiting.waitFor(id, 10_000, async () => stored[Math.min(loads++, 1)], isFinal, newer);
    await sleep(100);
    await redis.publish('gw:payment-updated', id);
    expect(await answer).toMatchObject({ status: 'SUCCEEDED', sequence: 2 });
    expect(loads).toBe(2);
  });

  it('reads again on a wake-up when the waiter takes nothing from the view', async () => {
    const id = `pay_upd_${Date.now()}_${n++}`;
    const stored = ['PROCESSING', 'SUCCEEDED'];
    let loads = 0;
    const answer = waiting.waitFor(id, 10_000, async () => stored[Math.min(loads++, 1)], (status) => status !== 'PROCESSING');
    await sleep(100);
    await applying.publish(view(id, 'SUCCEEDED', 1));
    expect(await answer).toBe('SUCCEEDED');
    expect(loads).toBe(2);
  });

  it('answers every waiter at once with what it holds when the replica shuts down', async () => {
    const replica = new PaymentUpdates(redis);
    await replica.onModuleInit();
    const id = `pay_upd_${Date.now()}_${n++}`;
    const started = Date.now();
    const answer = replica.waitFor(id, 20_000, async () => view(id, 'PROCESSING', 1), isFinal, newer);
    await sleep(100);
    await replica.onApplicationShutdown();
    expect(await answer).toMatchObject({ status: 'PROCESSING', sequence: 1 });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
