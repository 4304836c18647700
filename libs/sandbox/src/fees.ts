import type { FeeSchedule } from '@upm/contracts';

/**
 * Alipay's commission as the sandbox charges it, with the schedule settlement expects (`expectedFee` in
 * @upm/contracts): a rate of a transaction's gross plus a fixed part per currency. Antom's own sandbox charges a
 * fixed 10 minor units per transaction (spec §13.1, §15.10), which stays the default: rate 0, fixed `10`. The spec's
 * report section (§13.2) gives the fee only as a settlement item's `feeAmountValue` and is silent on how a rate part
 * is rounded; the schedule rounds it half up to a whole minor unit. A payment and a refund are each charged the fee
 * of their own gross; a cancel (always of the whole payment) gives back the fee of that gross.
 */
export type SandboxFees = Required<FeeSchedule>;

/** Antom's sandbox fee, minor units per transaction (spec §13.1) */
export const SANDBOX_FEE_MINOR = 10n;

export const DEFAULT_SANDBOX_FEES: SandboxFees = { feeRateBps: 0, feeMinor: SANDBOX_FEE_MINOR, feeMinorByCurrency: {} };
