import { currencyExponent, isChargeableAmount } from '@upm/contracts';

/**
 * The sandbox's fixed exchange rates, in US dollars per unit of each currency: made-up but plausible, and
 * never moving, so a test can work out what a batch settled in another currency must hold.
 */
const USD_PER_UNIT: Readonly<Record<string, string>> = {
  USD: '1', HKD: '0.1282', CNY: '0.1380', MOP: '0.1245', JPY: '0.0067', KRW: '0.00072', SGD: '0.7400', MYR: '0.2200',
  THB: '0.0285', PHP: '0.0172', IDR: '0.000063', TWD: '0.0310', EUR: '1.0800', GBP: '1.2700', CHF: '1.1300', AUD: '0.6500',
  NZD: '0.5900', CAD: '0.7200',
};

/** currencies the sandbox can settle in, and convert from */
export const FX_CURRENCIES: readonly string[] = Object.keys(USD_PER_UNIT).sort();

/** quote prices carry 8 decimals, as in Alipay's reports */
const PRICE_DECIMALS = 8;
const SCALE = 10n ** BigInt(PRICE_DECIMALS);

export interface Quote {
  /** `<from>/<to>`, alpha codes (spec §3.6) */
  pair: string;
  /** units of `to` per unit of `from`, 8 decimals */
  price: string;
  /**
   * minor units of `from` → minor units of `to`, rounded half away from zero; into a currency Alipay takes in
   * whole units only (IDR), banker's-rounded to whole units (spec §3.1)
   */
  convert(minor: bigint): bigint;
}

/** The quote from one currency to another, or undefined when the sandbox has no rate for either. */
export function quote(from: string, to: string): Quote | undefined {
  const fromRate = USD_PER_UNIT[from];
  const toRate = USD_PER_UNIT[to];
  const fromExponent = currencyExponent(from);
  const toExponent = currencyExponent(to);
  if (fromRate === undefined || toRate === undefined || fromExponent === undefined || toExponent === undefined) return undefined;
  const scaled = divideRounded(scaledDecimal(fromRate) * SCALE, scaledDecimal(toRate));
  const whole = (scaled / SCALE).toString();
  const fraction = (scaled % SCALE).toString().padStart(PRICE_DECIMALS, '0');
  return {
    pair: `${from}/${to}`,
    price: `${whole}.${fraction}`,
    convert: (minor) => {
      const numerator = minor * scaled * 10n ** BigInt(toExponent);
      const denominator = SCALE * 10n ** BigInt(fromExponent);
      return isChargeableAmount(to, '1') ? divideRounded(numerator, denominator) : divideHalfEven(numerator, denominator * WHOLE_UNIT) * WHOLE_UNIT;
    },
  };
}

/** A decimal string as an integer of SCALE. */
function scaledDecimal(decimal: string): bigint {
  const [whole, fraction = ''] = decimal.split('.');
  return BigInt(whole + fraction.padEnd(PRICE_DECIMALS, '0').slice(0, PRICE_DECIMALS));
}

/** the minor units of one whole unit of a whole-units-only currency: its amounts end in `00` */
const WHOLE_UNIT = 100n;

/** n / d for a positive d, rounded half to even (banker's rounding). */
function divideHalfEven(n: bigint, d: bigint): bigint {
  const quotient = n / d;
  const twiceRemainder = (n % d) * 2n;
  const magnitude = twiceRemainder < 0n ? -twiceRemainder : twiceRemainder;
  if (magnitude < d || (magnitude === d && quotient % 2n === 0n)) return quotient;
  return quotient + (n < 0n ? -1n : 1n);
}

/** n / d for a positive d, rounded half away from zero. */
function divideRounded(n: bigint, d: bigint): bigint {
  const sign = n < 0n ? -1n : 1n;
  const magnitude = n < 0n ? -n : n;
  return sign * ((magnitude * 2n + d) / (2n * d));
}
