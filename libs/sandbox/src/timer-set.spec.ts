import { SandboxClock } from './sandbox-clock';
import { TimerSet } from './timer-set';

describe('TimerSet', () => {
  it('resolves a sleep true when the delay passed, false when closed first, and skips tasks after closing', async () => {
    const timers = new TimerSet();
    const ran: string[] = [];
    expect(await timers.sleep(5)).toBe(true);
    const pending = timers.sleep(60_000);
    timers.after(60_000, () => ran.push('late'));
    expect(timers.size).toBe(2);
    timers.close();
    expect(await pending).toBe(false);
    expect(await timers.sleep(1)).toBe(false);
    expect(timers.size).toBe(0);
    expect(ran).toEqual([]);
  });

  it('runs a task after its delay and reports a task that throws', async () => {
    const errors: unknown[] = [];
    const timers = new TimerSet((error) => errors.push(error));
    const ran: string[] = [];
    timers.after(1, () => ran.push('ran'));
    timers.after(1, () => {
      throw new Error('boom');
    });
    await timers.sleep(20);
    expect(ran).toEqual(['ran']);
    expect(errors).toHaveLength(1);
  });
});

describe('SandboxClock', () => {
  it('moves, is set and resets relative to the real time', () => {
    let real = 1_000_000;
    const clock = new SandboxClock(() => real);
    expect(clock.advance(500).getTime()).toBe(1_000_500);
    real += 100;
    expect(clock.now().getTime()).toBe(1_000_600);
    expect(clock.set(new Date(5_000_000)).getTime()).toBe(5_000_000);
    expect(clock.offset).toBe(5_000_000 - real);
    expect(clock.reset().getTime()).toBe(real);
  });
});
