import { expectedFee } from '@upm/contracts';
import { DEFAULT_SANDBOX_FEES } from './fees';

describe('the sandbox fee', () => {
  it('charges Antom’s sandbox fee, 10 minor units whatever the gross or currency, by default', () => {
    expect(expectedFee(DEFAULT_SANDBOX_FEES, 'HKD', 1_250n)).toBe(10n);
    expect(expectedFee(DEFAULT_SANDBOX_FEES, 'JPY', 10_000_000n)).toBe(10n);
  });
});
