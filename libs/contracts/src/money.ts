/**
 * Money is integer minor units carried as decimal strings; the ISO 4217 exponent of the currency says
 * where the decimal point goes. Never floats.
 */
const EXPONENTS: Readonly<Record<string, number>> = {
  AUD: 2, BDT: 2, BRL: 2, CAD: 2, CNY: 2, EUR: 2, GBP: 2, HKD: 2, IDR: 2, MXN: 2, MYR: 2, NZD: 2, PEN: 2,
  PHP: 2, PKR: 2, PLN: 2, SGD: 2, THB: 2, TWD: 2, USD: 2, MOP: 2, CHF: 2,
  CLP: 0, JPY: 0, KRW: 0, VND: 0,
};

export interface Money {
  currency: string;
  /** minor units, a non-negative integer as a decimal string */
  value: string;
}

export const SUPPORTED_CURRENCIES: readonly string[] = Object.keys(EXPONENTS).sort();

export function currencyExponent(currency: string): number | undefined {
  // own keys only: `toString` or `constructor` is not a currency
  return Object.hasOwn(EXPONENTS, currency) ? EXPONENTS[currency] : undefined;
}

/** Currencies Alipay takes in whole major units only, though their exponent is 2 (spec §3.1). */
const WHOLE_UNITS_ONLY: ReadonlySet<string> = new Set(['IDR']);

/** Whether Alipay takes this many minor units of the currency: IDR only in whole rupiah (`"150000"`, not `"150050"`). */
export function isChargeableAmount(currency: string, value: string): boolean {
  return !WHOLE_UNITS_ONLY.has(currency) || value.endsWith('00');
}

const MINOR_UNITS = /^(0|[1-9][0-9]{0,15})$/;

/** `"1250"` is a valid minor-unit string; `"12.50"`, `"-1"`, `"007"` and 17+ digits are not. */
export function isMinorUnits(value: string): boolean {
  return MINOR_UNITS.test(value);
}

/** Minor units to the major-unit decimal string of reports: HKD "1250" → "12.50", JPY "1000" → "1000". */
export function toMajorUnits(value: string | bigint, currency: string): string {
  const exponent = requireExponent(currency);
  const minor = BigInt(value);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction}` : ''}`;
}

/** A report's major-unit decimal back to minor units, exactly: HKD "12.5" → 1250n; rejects excess precision. */
export function fromMajorUnits(major: string, currency: string): bigint {
  const exponent = requireExponent(currency);
  const match = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(major.trim());
  if (!match) throw new RangeError(`not a decimal amount: "${major}"`);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > exponent && /[^0]/.test(fraction.slice(exponent))) {
    throw new RangeError(`${currency} takes ${exponent} decimals, got "${major}"`);
  }
  const minor = BigInt(whole + fraction.slice(0, exponent).padEnd(exponent, '0'));
  return sign === '-' ? -minor : minor;
}

function requireExponent(currency: string): number {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw new RangeError(`unsupported currency "${currency}"`);
  return exponent;
}
