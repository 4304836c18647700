/**
 * Alipay's commission as the sandbox charges it: a rate of a transaction's gross plus a fixed part per
 * currency, as acquiring contracts price in-store payments (2.2 % + 1.00 HKD, say). Antom's own sandbox charges
 * a fixed 10 minor units per transaction (spec §13.1, §15.10), which stays the default: rate 0, fixed `10`.
 *
 * The fee of a transaction of gross A (minor units) in currency C is
 *
 *     round_half_up(A × feeRateBps / 10 000) + fixed(C)
 *
 * where fixed(C) is `feeMinorByCurrency[C]` when the schedule names C, `feeMinor` otherwise. The spec's report
 * section (§13.2) gives the fee only as a settlement item's `feeAmountValue`, in major units, and is silent on
 * how a rate part is rounded; so the rate part alone is rounded to a whole minor unit of C, half up (27.5 → 28),
 * as settlement documents its expectation (docs/settlement.md, "Fee schedule"). A payment and a refund are each
 * charged the fee of their own gross; a cancel (always of the whole payment) gives back the fee of that gross.
 *
 * The sandbox plays Alipay, so it works the fee out on its own rather than with settlement's code (which its
 * scope may not import anyway): an end-to-end test then checks one against the other.
 */
export interface SandboxFees {
  /** the rate of the gross, basis points (220 = 2.2 %) */
  feeRateBps: number;
  /** the fixed part of a currency `feeMinorByCurrency` does not name, minor units */
  feeMinor: bigint;
  /** the fixed part per currency, minor units of each (`{ HKD: 100n, JPY: 1n }`) */
  feeMinorByCurrency: Readonly<Record<string, bigint>>;
}

/** Antom's sandbox fee, minor units per transaction (spec §13.1) */
export const SANDBOX_FEE_MINOR = 10n;

export const DEFAULT_SANDBOX_FEES: SandboxFees = { feeRateBps: 0, feeMinor: SANDBOX_FEE_MINOR, feeMinorByCurrency: {} };

const BPS_PER_UNIT = 10_000n;

/** The fee, positive minor units of `currency`, for a transaction of `gross` minor units (its sign ignored). */
export function sandboxFee(fees: SandboxFees, currency: string, gross: bigint): bigint {
  const amount = gross < 0n ? -gross : gross;
  // half up on whole minor units: floor(x + 1/2) with x = amount × rate / 10 000, kept exact in integers
  const ratePart = (2n * amount * BigInt(fees.feeRateBps) + BPS_PER_UNIT) / (2n * BPS_PER_UNIT);
  return ratePart + (fees.feeMinorByCurrency[currency] ?? fees.feeMinor);
}

const BARE = /^\d{1,12}$/;
const PER_CURRENCY = /^([A-Z]{3}):(\d{1,12})$/;

/**
 * Reads the fixed part as `SANDBOX_FEE_MINOR` gives it, in the form settlement's `SETTLEMENT_FEE_MINOR` takes, so
 * one value serves both: `10` (every currency), or `<CCY>:<minor units>` entries, comma-separated, with at most one
 * bare figure for the currencies not named (`HKD:100,JPY:1`, `5,JPY:1`); without a bare figure, a currency not
 * named has no fixed part. Answers the problem when the text is none of these.
 */
export function parseSandboxFixedFees(text: string): Pick<SandboxFees, 'feeMinor' | 'feeMinorByCurrency'> | { problem: string } {
  const byCurrency: Record<string, bigint> = {};
  let fallback: bigint | undefined;
  for (const entry of text.split(',').map((e) => e.trim())) {
    const named = PER_CURRENCY.exec(entry);
    if (named) {
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
