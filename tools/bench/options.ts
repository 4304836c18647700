import { DEFAULT_MIX, Mix, parseMix, SCENARIOS } from './schedule';

export interface BenchOptions {
  rate: number;
  durationS: number;
  warmupS: number;
  /** the warm-up's rate: one the platform carries, so the measured phase starts warm and without a backlog */
  warmupRate: number;
  stores: number;
  terminalsPerStore: number;
  merchants: number;
  mix: Mix;
  mixText: string;
  seed: number;
  waitSeconds: number;
  basePort: number;
  poolSize?: number;
  rateLimit?: number;
  partitions?: number;
  baseline: boolean;
  ramp: boolean;
  rampFrom: number;
  rampTo: number;
  rampStep: number;
  rampStepS: number;
  p99LimitMs: number;
  errorLimitPct: number;
  timeFactor: number;
  chart?: string;
  /** where the services' CPU profiles go (none without it) */
  profileDir?: string;
  logLevel: string;
  help: boolean;
}

export const USAGE = `npm run bench -- [options]

  --rate N            target payments per second, open arrivals (default 200)
  --duration S        seconds of load per phase (default 60)
  --warmup S          seconds of load before measuring, not counted: compiles the hot paths and fills
                      the pools, as in a service that has run for a while (default 60)
  --warmup-rate N     payments per second during the warm-up (default: the rate, or the ramp's first
                      step, at most 15)
  --stores N --terminals M --merchants K
                      N stores × M terminals across K chains (default 2000 × 5, 20 chains)
  --mix SPEC          scenario weights by payment-code suffix: ${Object.keys(SCENARIOS).join(', ')} (default ${DEFAULT_MIX})
  --seed N            arrival schedule seed (default 1)
  --wait S            waitSeconds the POS sends (default 20)
  --no-baseline       skip the direct-to-Alipay baseline
  --ramp              raise the rate step by step until p99 or errors break the limits
  --ramp-from N --ramp-to N --ramp-step N --ramp-step-duration S   (default 50, 600, 50, 20 s)
  --p99-limit MS      ramp limit: p99 of immediate successes on the platform (default 1000)
  --error-limit PCT   ramp limit: payments with errors or not final (default 1)
  --pool N            DATABASE_POOL_SIZE of every service (default: the services' own, 10)
  --rate-limit N      GATEWAY_RATE_LIMIT_PER_SECOND per terminal (default: the gateway's own, 20)
  --partitions N      at most N partitions per topic (default: the production counts, 12 per stream)
  --time-factor N     SANDBOX_TIME_FACTOR (default 6: PIN entry takes 1 s)
  --base-port P       gateway on P, others on P+1…P+4, sandbox on P+10 (default 3800)
  --chart FILE        where the SVG goes (default docs/benchmarks/steady.svg or ramp.svg)
  --log-level L       services' LOG_LEVEL (default warn)
  --profile DIR       each service writes a V8 CPU profile of its whole run into DIR/<service>/ (open it in
                      Chrome DevTools); the report ends with each service's CPU by kind of work`;

export function parseOptions(argv: string[]): BenchOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split('=', 2);
    if (['no-baseline', 'ramp', 'help'].includes(name)) flags.add(name);
    else if (inline !== undefined) values.set(name, inline);
    else if (i + 1 < argv.length) values.set(name, argv[++i]);
    else throw new Error(`--${name} needs a value`);
  }
  const known = ['rate', 'duration', 'warmup', 'warmup-rate', 'stores', 'terminals', 'merchants', 'mix', 'seed', 'wait', 'base-port', 'pool', 'rate-limit', 'partitions', 'ramp-from', 'ramp-to', 'ramp-step', 'ramp-step-duration', 'p99-limit', 'error-limit', 'time-factor', 'chart', 'log-level', 'profile'];
  for (const name of values.keys()) if (!known.includes(name)) throw new Error(`unknown option --${name}`);
  const num = (name: string, fallback: number, min = 0) => {
    const value = values.has(name) ? Number(values.get(name)) : fallback;
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return value;
  };
  const optional = (name: string) => (values.has(name) ? num(name, 0, 1) : undefined);
  const mixText = values.get('mix') ?? DEFAULT_MIX;
  const rate = num('rate', 200, 0.1);
  const ramp = flags.has('ramp');
  const rampFrom = num('ramp-from', 50, 1);
  return {
    rate,
    durationS: num('duration', 60, 1),
    warmupS: num('warmup', 60),
    warmupRate: num('warmup-rate', Math.min(ramp ? rampFrom : rate, 15), 0.1),
    stores: num('stores', 2000, 1),
    terminalsPerStore: num('terminals', 5, 1),
    merchants: num('merchants', 20, 1),
    mix: parseMix(mixText),
    mixText,
    seed: num('seed', 1),
    waitSeconds: num('wait', 20),
    basePort: num('base-port', 3800, 1),
    poolSize: optional('pool'),
    rateLimit: optional('rate-limit'),
    partitions: optional('partitions'),
    baseline: !flags.has('no-baseline'),
    ramp,
    rampFrom,
    rampTo: num('ramp-to', 600, 1),
    rampStep: num('ramp-step', 50, 1),
    rampStepS: num('ramp-step-duration', 20, 1),
    p99LimitMs: num('p99-limit', 1000, 1),
    errorLimitPct: num('error-limit', 1),
    timeFactor: num('time-factor', 6, 1),
    chart: values.get('chart'),
    profileDir: values.get('profile'),
    logLevel: values.get('log-level') ?? 'warn',
    help: flags.has('help'),
  };
}
