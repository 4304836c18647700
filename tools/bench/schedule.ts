/** The sandbox scenarios the benchmark sends, by the last two digits of the payment code (CONTRACTS.md §2). */
export const SCENARIOS = {
  '00': 'immediate success',
  '80': 'PIN entry, then success',
  '85': 'decline (balance)',
  '82': 'no answer, inquiries, then cancel',
  '84': 'pay hangs, nothing recorded',
} as const;

export type Scenario = keyof typeof SCENARIOS;

/** What a POS sees at the end of each scenario. */
export const EXPECTED_STATUS: Record<Scenario, 'SUCCEEDED' | 'FAILED' | 'CANCELLED'> = {
  '00': 'SUCCEEDED',
  '80': 'SUCCEEDED',
  '85': 'FAILED',
  '82': 'CANCELLED',
  '84': 'FAILED',
};

/** What the sandbox's books show at the end of each scenario (84's pay never took effect there). */
export const EXPECTED_BOOK: Record<Scenario, string> = {
  '00': 'SUCCESS',
  '80': 'SUCCESS',
  '85': 'FAIL',
  '82': 'CANCELLED',
  '84': 'NOT_RECORDED',
};

export type Mix = Array<{ scenario: Scenario; weight: number }>;

export const DEFAULT_MIX = '00=85,80=7,85=5,82=3';

/** `00=85,80=7,85=5,82=3` → weights by scenario. */
export function parseMix(text: string): Mix {
  const mix = text.split(',').map((part) => {
    const [scenario, weight] = part.split('=').map((s) => s.trim());
    if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario "${scenario}" in --mix (known: ${Object.keys(SCENARIOS).join(', ')})`);
    const w = Number(weight);
    if (!Number.isFinite(w) || w < 0) throw new Error(`bad weight "${weight}" for scenario ${scenario} in --mix`);
    return { scenario: scenario as Scenario, weight: w };
  });
  if (mix.reduce((sum, m) => sum + m.weight, 0) <= 0) throw new Error('--mix needs a positive weight');
  return mix;
}

/** A small seeded generator (mulberry32), so a run's schedule can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pickScenario(mix: Mix, random: () => number): Scenario {
  const total = mix.reduce((sum, m) => sum + m.weight, 0);
  let x = random() * total;
  for (const m of mix) {
    x -= m.weight;
    if (x < 0) return m.scenario;
  }
  return mix[mix.length - 1].scenario;
}

export interface Arrival {
  /** ms after the start of the phase */
  at: number;
  scenario: Scenario;
  /** which terminal sends it */
  terminal: number;
}

/**
 * An open arrival model: payments arrive as a Poisson process at `rate` per second for `durationS`
 * seconds, whatever the system's answers; each picks a scenario from the mix and a random terminal.
 */
export function arrivals(rate: number, durationS: number, mix: Mix, terminals: number, random: () => number, startMs = 0): Arrival[] {
  const out: Arrival[] = [];
  const end = startMs + durationS * 1000;
  let t = startMs;
  for (;;) {
    t += (-Math.log(1 - random()) / rate) * 1000;
    if (t >= end) return out;
    out.push({ at: t, scenario: pickScenario(mix, random), terminal: Math.floor(random() * terminals) });
  }
}

/** The steps of a ramp: `from`, `from+step`, … up to `to` per second. */
export function rampRates(from: number, to: number, step: number): number[] {
  const rates: number[] = [];
  for (let r = from; r <= to; r += step) rates.push(r);
  return rates;
}

/** A merchantOrderId for the i-th payment of a phase: the POS API accepts 1–64 of A–Z, a–z, 0–9, _ and -. */
export function orderId(runId: string, phase: string, i: number): string {
  return `${runId}-${phase.replace(/[^A-Za-z0-9_-]+/g, '')}-${i}`.slice(-64);
}
