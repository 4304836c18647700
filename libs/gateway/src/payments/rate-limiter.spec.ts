import { LocalWindow } from './rate-limiter';

describe('LocalWindow, the rate limit a replica counts while Redis is away', () => {
  it('counts each terminal on its own within a second', () => {
    const window = new LocalWindow();
    expect([window.hit('ter_a', 100), window.hit('ter_a', 100), window.hit('ter_b', 100), window.hit('ter_a', 100)]).toEqual([1, 2, 1, 3]);
  });

  it('starts every terminal again when the second turns', () => {
    const window = new LocalWindow();
    window.hit('ter_a', 100);
    window.hit('ter_a', 100);
    expect(window.hit('ter_a', 101)).toBe(1);
    expect(window.hit('ter_b', 101)).toBe(1);
    expect(window.hit('ter_a', 101)).toBe(2);
  });
});
