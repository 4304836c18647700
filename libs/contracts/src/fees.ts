import { currencyExponent, SUPPORTED_CURRENCIES } from './money';

/**
 * Alipay's fee schedule: what Alipay charges for a transaction, a rate of its gross plus a fixed part per
 * currency; settlement expects it, the sandbox charges it (one formula, so the two agree on every rounding). Acquiring contracts price in-store payments that way (2.2 % + 1.00 HKD, say), and a
 * single fixed figure for every currency would be 0.10 HKD but 10 JPY, and wrong for nearly every transaction.
 *
 * The fee of a transaction of gross A (minor units, its sign ignored) in currency C is
 *
 *     round_half_up(A × feeRateBps / 10 000) + fixed(C)
 *
 * where fixed(C) is `feeMinorByCurrency[C]` when the schedule names C, `feeMinor` otherwise. The rate part alone is
 * rounded, to a whole minor unit of C (a cent of HKD, a yen of JPY), half up: 27.5 → 28, 27.49 → 27. A payment and
 * a refund are each charged the fee of their own gross; a cancel gives back the fee its payment was booked with
 * (the fee of the same gross, unless the schedule changed in between).
 */
export interface FeeSchedule {
  /** the fixed part of a currency the schedule does not name, minor units */
  feeMinor: bigint;
  /** the rate of the gross, basis points (220 = 2.2 %); 0 when unset */
  feeRateBps?: number;
  /** the fixed part per currency, minor units of each (`{ HKD: 10n, JPY: 1n }`) */
  feeMinorByCurrency?: Readonly<Record<string, bigint>>;
}

/** A schedule, or a flat fee: that fixed part in every currency, no rate. */
export type FeeTerms = FeeSchedule | bigint;

const BPS_PER_UNIT = 10_000n;

/** The fee the schedule charges for a transaction of `amount` minor units of `currency` (positive minor units). */
export function expectedFee(terms: FeeTerms, currency: string, amount: bigint): bigint {
  const schedule = typeof terms === 'bigint' ? { feeMinor: terms } : terms;
  const gross = amount < 0n ? -amount : amount;
  const rate = BigInt(schedule.feeRateBps ?? 0);
  // half up on whole minor units: floor(x + 1/2), with x = gross × rate / 10 000 kept exact in integers
  const ratePart = (2n * gross * rate + BPS_PER_UNIT) / (2n * BPS_PER_UNIT);
  return ratePart + (schedule.feeMinorByCurrency?.[currency] ?? schedule.feeMinor);
}

export type FixedFees = Required<Pick<FeeSchedule, 'feeMinor' | 'feeMinorByCurrency'>>;

const BARE = /^\d{1,12}$/;
const PER_CURRENCY = /^([A-Z]{3}):(\d{1,12})$/;

/**
 * Reads the fixed part of a schedule as finance writes it: `10` (every currency), or a comma-separated list of
 * `<CCY>:<minor units>` entries with at most one bare figure for the currencies it does not name
 * (`HKD:10,JPY:1`, `5,JPY:1`); a currency the list names not, when no bare figure is given, has no fixed part.
 * Answers the problem when the text is none of these.
 */
export function parseFixedFees(text: string): FixedFees | { problem: string } {
  const byCurrency: Record<string, bigint> = {};
  let fallback: bigint | undefined;
  for (const entry of text.split(',').map((e) => e.trim())) {
    const named = PER_CURRENCY.exec(entry);
    if (named) {
      // a misspelt currency would leave the one meant on the bare figure's fee, silently
      if (currencyExponent(named[1]) === undefined) return { problem: `${named[1]} is not a currency the platform takes (${SUPPORTED_CURRENCIES.join(', ')})` };
      if (named[1] in byCurrency) return { problem: `${named[1]} is named twice` };
      byCurrency[named[1]] = BigInt(named[2]);
    } else if (BARE.test(entry)) {
      if (fallback !== undefined) return { problem: 'at most one figure without a currency' };
      fallback = BigInt(entry);
    } else {
      return { problem: `"${entry}" is neither a non-negative integer of minor units nor <CCY>:<minor units>` };
    }
  }
  return { feeMinor: fallback ?? 0n, feeMinorByCurrency: byCurrency };
}
