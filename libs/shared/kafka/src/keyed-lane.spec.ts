import { KeyedLane } from './keyed-lane';

interface Message {
  key: string;
  offset: string;
}

const deferred = <T = void>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};
const ticks = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};
const message = (offset: number, key: string): Message => ({ key, offset: String(offset) });

/** A lane whose steps record what they were given; `apply` resolves at once unless `applyGate` is set. */
function recordingLane() {
  const applied: string[][] = [];
  const failed: Array<{ offset: string; error: string }> = [];
  const settled: string[] = [];
  const state = { applyGate: undefined as Promise<void> | undefined };
  const lane = new KeyedLane<Message>({
    keyOf: (m) => m.key,
    offsetOf: (m) => m.offset,
    apply: async (ready) => {
      applied.push(ready.map(({ item, prepared }) => `${item.offset}:${String(prepared)}`));
      await state.applyGate;
      return true;
    },
    fail: async (item, error) => {
      failed.push({ offset: item.offset, error: (error as Error).message });
      return true;
    },
    settle: (offset) => settled.push(offset),
  });
  return { lane, applied, failed, settled, state };
}

describe('KeyedLane', () => {
  it('applies the other keys while one waits on a slow call, and settles offsets only up to the first still under way', async () => {
    const { lane, applied, settled } = recordingLane();
    const slow = deferred<string>();
    const messages = [message(10, 'a'), message(11, 'b'), message(12, 'c')];
    const done = lane.add({
      offsets: messages.map((m) => m.offset),
      items: messages,
      current: () => true,
      prepare: async (m) => (m.key === 'a' ? slow.promise : `r${m.offset}`),
    });
    await ticks();
    // b and c prepared together are applied together; a's offset (the first) is not settled yet
    expect(applied).toEqual([['11:r11', '12:r12']]);
    expect(settled).toEqual([]);

    slow.resolve('late');
    await done;
    expect(applied).toEqual([['11:r11', '12:r12'], ['10:late']]);
    expect(settled).toEqual(['12']);
  });

  it('prepares a key\'s messages one after another across batches, and applies them in offset order', async () => {
    const { lane, applied, settled } = recordingLane();
    const calls: string[] = [];
    const first = deferred<string>();
    const prepare = async (m: Message) => {
      calls.push(m.offset);
      return m.offset === '1' ? first.promise : `r${m.offset}`;
    };
    const one = lane.add({ offsets: ['1'], items: [message(1, 'a')], current: () => true, prepare });
    const two = lane.add({ offsets: ['2', '3'], items: [message(2, 'a'), message(3, 'b')], current: () => true, prepare });
    await ticks();
    expect(calls).toEqual(['1', '3']); // 2 waits for 1, b does not
    expect(applied).toEqual([['3:r3']]);

    first.resolve('r1');
    await Promise.all([one, two]);
    expect(calls).toEqual(['1', '3', '2']);
    const order = applied.flat();
    expect(order.indexOf('1:r1')).toBeLessThan(order.indexOf('2:r2'));
    expect(settled[settled.length - 1]).toBe('3');
  });

  it('applies what was prepared during an apply together in the next one', async () => {
    const { lane, applied, state } = recordingLane();
    const gate = deferred();
    state.applyGate = gate.promise;
    const prepare = async (m: Message) => `r${m.offset}`;
    const first = lane.add({ offsets: ['1'], items: [message(1, 'a')], current: () => true, prepare });
    await ticks();
    const more = [message(2, 'b'), message(3, 'c'), message(4, 'd')];
    const rest = lane.add({ offsets: more.map((m) => m.offset), items: more, current: () => true, prepare });
    await ticks();
    expect(applied).toEqual([['1:r1']]);
    state.applyGate = undefined;
    gate.resolve();
    await Promise.all([first, rest]);
    expect(applied).toEqual([['1:r1'], ['2:r2', '3:r3', '4:r4']]);
  });

  it('hands a failed preparation to `fail` and goes on with the key\'s next message; messages not in `items` count as settled', async () => {
    const { lane, applied, failed, settled } = recordingLane();
    await lane.add({
      offsets: ['5', '6', '7'],
      items: [message(5, 'a'), message(7, 'a')], // 6 was dead-lettered while decoding
      current: () => true,
      prepare: async (m) => {
        if (m.offset === '5') throw new Error('route insert failed');
        return `r${m.offset}`;
      },
    });
    expect(failed).toEqual([{ offset: '5', error: 'route insert failed' }]);
    expect(applied).toEqual([['7:r7']]);
    expect(settled[settled.length - 1]).toBe('7');
  });

  it('after a reset, drops what was not prepared, settles nothing of the old generation and keeps each key\'s order for the new one', async () => {
    const { lane, applied, settled } = recordingLane();
    let owned = true;
    const slow = deferred<string>();
    const calls: string[] = [];
    const old = lane.add({
      offsets: ['1', '2'],
      items: [message(1, 'a'), message(2, 'a')],
      current: () => owned,
      prepare: async (m) => {
        calls.push(m.offset);
        return m.offset === '1' ? slow.promise : `r${m.offset}`;
      },
    });
    await ticks();
    owned = false;
    lane.reset();
    const next = lane.add({ offsets: ['1', '2'], items: [message(1, 'a'), message(2, 'a')], current: () => true, prepare: async (m) => `new${m.offset}` });
    await ticks();
    expect(applied).toEqual([]); // the new generation's first message of key a waits for the old one's call
    slow.resolve('r1');
    await Promise.all([old, next]);
    expect(calls).toEqual(['1']); // the old 2 was never prepared
    expect(applied).toEqual([['1:new1'], ['2:new2']]);
    expect(settled).toEqual(['1', '2']);
  });

  it('prepares a key\'s next message only once the one before it is applied, so a failure applying it is known first', async () => {
    const { lane, applied, state } = recordingLane();
    const gate = deferred();
    state.applyGate = gate.promise;
    const calls: string[] = [];
    const done = lane.add({
      offsets: ['1', '2', '3'],
      items: [message(1, 'a'), message(2, 'a'), message(3, 'b')],
      current: () => true,
      prepare: async (m) => {
        calls.push(m.offset);
        return `r${m.offset}`;
      },
    });
    await ticks();
    expect([calls, applied]).toEqual([['1', '3'], [['1:r1', '3:r3']]]); // 2 waits while 1 is being applied

    state.applyGate = undefined;
    gate.resolve();
    await done;
    expect([calls, applied]).toEqual([['1', '3', '2'], [['1:r1', '3:r3'], ['2:r2']]]);
  });

  it('lets a key\'s next message go only once the failed one before it is re-routed, so it cannot pass it', async () => {
    const prepared: string[] = [];
    const rerouted = deferred<boolean>();
    const applied: string[] = [];
    const lane = new KeyedLane<Message>({
      keyOf: (m) => m.key,
      offsetOf: (m) => m.offset,
      apply: async (ready) => {
        applied.push(...ready.map(({ item }) => item.offset));
        return true;
      },
      fail: () => rerouted.promise,
      settle: () => undefined,
    });
    const messages = [message(1, 'a'), message(2, 'a')];
    const done = lane.add({
      offsets: messages.map((m) => m.offset),
      items: messages,
      current: () => true,
      prepare: async (m) => {
        prepared.push(m.offset);
        if (m.offset === '1') throw new Error('the other system blinked');
      },
    });
    await ticks();
    expect([prepared, applied]).toEqual([['1'], []]); // 2 waits while 1 is being re-routed

    rerouted.resolve(true);
    await done;
    expect([prepared, applied]).toEqual([['1', '2'], ['2']]);
  });
});
