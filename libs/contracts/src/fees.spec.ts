import { expectedFee, FeeSchedule, parseFixedFees } from './fees';

describe('the fee schedule', () => {
  const schedule: FeeSchedule = { feeMinor: 5n, feeRateBps: 220, feeMinorByCurrency: { HKD: 100n, JPY: 1n } };

  it('charges the rate of the gross plus the fixed part of its currency', () => {
    // 2.2 % of 1000.00 HKD is 22.00, plus 1.00 HKD
    expect(expectedFee(schedule, 'HKD', 100_000n)).toBe(2_200n + 100n);
  });

  it('rounds the rate part half up to a whole minor unit, then adds the fixed part', () => {
    // 2.2 % of 12.50 HKD is 27.5 cents → 28; of 12.49 HKD 27.478 → 27; of 12.52 HKD 27.544 → 28
    expect(expectedFee(schedule, 'HKD', 1_250n)).toBe(28n + 100n);
    expect(expectedFee(schedule, 'HKD', 1_249n)).toBe(27n + 100n);
    expect(expectedFee(schedule, 'HKD', 1_252n)).toBe(28n + 100n);
    // exactly .5 at 1 bps: 5000 minor units → 0.5 → 1
    expect(expectedFee({ feeMinor: 0n, feeRateBps: 1 }, 'USD', 5_000n)).toBe(1n);
    expect(expectedFee({ feeMinor: 0n, feeRateBps: 1 }, 'USD', 4_999n)).toBe(0n);
  });

  it('rounds a currency without decimals to the whole unit: yen', () => {
    // 2.2 % of 1250 JPY is 27.5 yen → 28, plus 1 yen; of 1000 JPY exactly 22
    expect(expectedFee(schedule, 'JPY', 1_250n)).toBe(29n);
    expect(expectedFee(schedule, 'JPY', 1_000n)).toBe(23n);
  });

  it('takes a currency the schedule does not name at the bare fixed part', () => {
    expect(expectedFee(schedule, 'USD', 1_000n)).toBe(22n + 5n);
  });

  it('with rate 0 charges the fixed part alone, whatever the gross: the flat fee of before', () => {
    expect(expectedFee({ feeMinor: 10n }, 'HKD', 1_250n)).toBe(10n);
    expect(expectedFee({ feeMinor: 10n, feeRateBps: 0 }, 'JPY', 1_000_000n)).toBe(10n);
    expect(expectedFee(10n, 'HKD', 99_999_999n)).toBe(10n);
    expect(expectedFee({ feeMinor: 10n, feeMinorByCurrency: { JPY: 1n } }, 'JPY', 1_250n)).toBe(1n);
  });

  it('charges a refund or a cancel, whose report amount is negative, on its gross', () => {
    expect(expectedFee(schedule, 'HKD', -1_250n)).toBe(expectedFee(schedule, 'HKD', 1_250n));
  });
});

describe('the fixed part as finance writes it', () => {
  it('reads one figure for every currency', () => {
    expect(parseFixedFees('10')).toEqual({ feeMinor: 10n, feeMinorByCurrency: {} });
  });

  it('reads a figure per currency, none for a currency it does not name', () => {
    expect(parseFixedFees('HKD:10,JPY:1')).toEqual({ feeMinor: 0n, feeMinorByCurrency: { HKD: 10n, JPY: 1n } });
  });

  it('reads a bare figure among them as that of the currencies not named', () => {
    expect(parseFixedFees('JPY:1, 5')).toEqual({ feeMinor: 5n, feeMinorByCurrency: { JPY: 1n } });
  });

  it.each([
    ['-1', 'neither'], ['HKD:-1', 'neither'], ['hkd:10', 'neither'], ['HKD:10,', 'neither'], ['', 'neither'],
    ['HKD:10,HKD:20', 'HKD is named twice'], ['5,6', 'at most one figure'],
    ['HDK:10,5', 'HDK is not a currency the platform takes'], ['KWD:10', 'KWD is not a currency the platform takes'],
  ])('refuses %p', (text, problem) => {
    const parsed = parseFixedFees(text);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });
});
