import type { DataSource } from 'typeorm';
import { TransactionSlots, transactionSlots } from './transaction-slots';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const ticks = () => new Promise((resolve) => setImmediate(resolve));

describe('TransactionSlots', () => {
  it('runs at most `size` at once, lets the waiting in the order they came, and frees a slot when work fails', async () => {
    const slots = new TransactionSlots(2);
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, deferred);
    const runs = gates.map((gate, i) =>
      slots.run(async () => {
        started.push(i);
        await gate.promise;
        if (i === 1) throw new Error('rolled back');
        return i;
      }),
    );
    await ticks();
    expect(started).toEqual([0, 1]);

    gates[1].resolve(); // fails, and still frees its slot
    await expect(runs[1]).rejects.toThrow('rolled back');
    await ticks();
    expect(started).toEqual([0, 1, 2]);

    gates[0].resolve();
    expect(await runs[0]).toBe(0);
    await ticks();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all([runs[2], runs[3], runs[4]])).toEqual([2, 3, 4]);
    // every slot is free again
    const both = [deferred(), deferred()];
    const again = both.map((gate) => slots.run(() => gate.promise));
    await ticks();
    const third = slots.run(async () => 'third');
    let thirdDone = false;
    void third.then(() => (thirdDone = true));
    await ticks();
    expect(thirdDone).toBe(false);
    for (const gate of both) gate.resolve();
    await Promise.all(again);
    expect(await third).toBe('third');
  });

  it('gives the consumers of one pool half of its connections, at least one, shared by all of them', () => {
    const pool = (max?: number) => ({ options: { extra: max === undefined ? {} : { max } } }) as unknown as DataSource;
    const twenty = pool(20);
    expect(transactionSlots(twenty).size).toBe(10);
    expect(transactionSlots(twenty)).toBe(transactionSlots(twenty));
    expect(transactionSlots(pool(1)).size).toBe(1);
    expect(transactionSlots(pool()).size).toBe(5); // the services' default pool of 10
  });
});
