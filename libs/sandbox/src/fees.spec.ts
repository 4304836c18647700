import { DEFAULT_SANDBOX_FEES, parseSandboxFixedFees, sandboxFee, SandboxFees } from './fees';

describe('sandboxFee', () => {
  const contract: SandboxFees = { feeRateBps: 220, feeMinor: 5n, feeMinorByCurrency: { HKD: 100n, JPY: 1n } };

  it('charges 2.2 % of the gross plus the currency’s fixed part, in its minor units', () => {
    // 2.2 % of 12 500 cents is 275 cents exactly; of 20 000 yen, 440 yen
    expect(sandboxFee(contract, 'HKD', 12_500n)).toBe(275n + 100n);
    expect(sandboxFee(contract, 'JPY', 20_000n)).toBe(440n + 1n);
    // a currency the schedule does not name takes the bare figure
    expect(sandboxFee(contract, 'USD', 12_500n)).toBe(275n + 5n);
  });

  it('rounds the rate part alone to a whole minor unit, half up', () => {
    // 2.2 % of 1 250 is 27.5 → 28; of 1 136, 24.992 → 25; of 1 249, 27.478 → 27
    expect(sandboxFee(contract, 'HKD', 1_250n)).toBe(28n + 100n);
    expect(sandboxFee(contract, 'JPY', 1_250n)).toBe(28n + 1n);
    expect(sandboxFee(contract, 'JPY', 1_136n)).toBe(25n + 1n);
    expect(sandboxFee(contract, 'JPY', 1_249n)).toBe(27n + 1n);
    // 1 bp of 5 000 is 0.5 → 1; of 4 999, 0.4999 → 0
    const oneBp: SandboxFees = { feeRateBps: 1, feeMinor: 0n, feeMinorByCurrency: {} };
    expect(sandboxFee(oneBp, 'HKD', 5_000n)).toBe(1n);
    expect(sandboxFee(oneBp, 'HKD', 4_999n)).toBe(0n);
  });

  it('ignores the sign of the gross: a refund or cancel written negative is charged as its amount', () => {
    expect(sandboxFee(contract, 'HKD', -1_250n)).toBe(sandboxFee(contract, 'HKD', 1_250n));
  });

  it('charges Antom’s sandbox fee, 10 minor units whatever the gross or currency, by default', () => {
    expect(sandboxFee(DEFAULT_SANDBOX_FEES, 'HKD', 1_250n)).toBe(10n);
    expect(sandboxFee(DEFAULT_SANDBOX_FEES, 'JPY', 10_000_000n)).toBe(10n);
  });

  it('tells a fee one basis point apart on a gross of 10 000 minor units or more', () => {
    // 2.2 % of 12 750 is 280.5 → 281; 2.21 %, 281.775 → 282
    expect(sandboxFee({ ...contract, feeRateBps: 221 }, 'HKD', 12_750n) - sandboxFee(contract, 'HKD', 12_750n)).toBe(1n);
  });
});

describe('parseSandboxFixedFees', () => {
  it('reads one figure for every currency, or one per currency with at most one bare figure', () => {
    expect(parseSandboxFixedFees('10')).toEqual({ feeMinor: 10n, feeMinorByCurrency: {} });
    expect(parseSandboxFixedFees('HKD:100,JPY:1')).toEqual({ feeMinor: 0n, feeMinorByCurrency: { HKD: 100n, JPY: 1n } });
    expect(parseSandboxFixedFees(' JPY:1, 5 ')).toEqual({ feeMinor: 5n, feeMinorByCurrency: { JPY: 1n } });
  });

  it('names the problem of anything else', () => {
    expect(parseSandboxFixedFees('HKD:1,HKD:2')).toEqual({ problem: 'HKD is named twice' });
    expect(parseSandboxFixedFees('1,2')).toEqual({ problem: 'at most one figure without a currency' });
    expect(parseSandboxFixedFees('hkd:1')).toMatchObject({ problem: expect.stringContaining('"hkd:1"') });
    expect(parseSandboxFixedFees('-1')).toMatchObject({ problem: expect.stringContaining('"-1"') });
    expect(parseSandboxFixedFees('')).toMatchObject({ problem: expect.any(String) });
  });
});
