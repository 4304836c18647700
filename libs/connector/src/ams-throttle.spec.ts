import { AmsThrottle } from './ams-throttle';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('AmsThrottle', () => {
  it('never runs more calls at once than its cap, and runs them all', async () => {
    const throttle = new AmsThrottle(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        throttle.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await tick(5);
          running--;
          return { resultCode: 'SUCCESS', i };
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results.map((r) => r.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(throttle.inFlight).toBe(0);
  });

  it('pauses every call after REQUEST_TRAFFIC_EXCEED_LIMIT, longer while it repeats, and recovers', async () => {
    const throttle = new AmsThrottle(10, 100, 400);
    await throttle.run(async () => ({ resultCode: 'REQUEST_TRAFFIC_EXCEED_LIMIT' }));
    let started = Date.now();
    await throttle.run(async () => ({ resultCode: 'REQUEST_TRAFFIC_EXCEED_LIMIT' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    started = Date.now();
    await throttle.run(async () => ({ resultCode: 'SUCCESS' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(180); // the pause doubled
    started = Date.now();
    await throttle.run(async () => ({ resultCode: 'SUCCESS' }));
    expect(Date.now() - started).toBeLessThan(50);
  });

  it('pauses too when an answer it cannot trust asks it to slow down', async () => {
    for (const slowDown of [
      { resultCode: 'HTTP_STATUS', claimedResult: { resultCode: 'REQUEST_TRAFFIC_EXCEED_LIMIT' } },
      { resultCode: 'HTTP_STATUS', exchange: { httpStatus: 429 } },
    ]) {
      const throttle = new AmsThrottle(10, 100, 400);
      await throttle.run(async () => slowDown);
      const started = Date.now();
      await throttle.run(async () => ({ resultCode: 'SUCCESS' }));
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    }
  });
});
