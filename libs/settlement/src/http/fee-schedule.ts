import { expectedFee, FeeSchedule, Money, SUPPORTED_CURRENCIES } from '@upm/contracts';

/** The fee schedule the ledger books with, as finance reads it: amounts as strings of minor units. */
export interface FeeScheduleView {
  /** the rate of the gross, basis points (220 = 2.2 %) */
  feeRateBps: number;
  /** the fixed part of a currency the schedule does not name, minor units */
  feeMinor: string;
  /** the fixed part of each currency the schedule names, minor units of each */
  feeMinorByCurrency: Record<string, string>;
  /** the fixed part in every currency the platform takes, worked out as the ledger does (`expectedFee` of a zero gross) */
  fixedByCurrency: Money[];
}

export function feeScheduleView(schedule: FeeSchedule): FeeScheduleView {
  return {
    feeRateBps: schedule.feeRateBps ?? 0,
    feeMinor: schedule.feeMinor.toString(),
    feeMinorByCurrency: Object.fromEntries(Object.entries(schedule.feeMinorByCurrency ?? {}).map(([currency, fixed]) => [currency, fixed.toString()])),
    fixedByCurrency: SUPPORTED_CURRENCIES.map((currency) => ({ currency, value: expectedFee(schedule, currency, 0n).toString() })),
  };
}
