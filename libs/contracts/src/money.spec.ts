import { currencyExponent, fromMajorUnits, isChargeableAmount, isMinorUnits, toMajorUnits } from './money';

describe('money', () => {
  it.each([
    ['1250', 'HKD', '12.50'],
    ['5', 'USD', '0.05'],
    ['0', 'EUR', '0.00'],
    ['1000', 'JPY', '1000'],
    ['-1250', 'HKD', '-12.50'],
    ['9999999999999999', 'KRW', '9999999999999999'],
  ])('%s %s is %s in major units and back', (minor, currency, major) => {
    expect(toMajorUnits(minor, currency)).toBe(major);
    expect(fromMajorUnits(major, currency)).toBe(BigInt(minor));
  });

  it('reads report amounts with fewer decimals and refuses more precision than the currency has', () => {
    expect(fromMajorUnits('12.5', 'HKD')).toBe(1250n);
    expect(fromMajorUnits('12', 'HKD')).toBe(1200n);
    expect(fromMajorUnits('12.500', 'HKD')).toBe(1250n);
    expect(() => fromMajorUnits('12.505', 'HKD')).toThrow(/2 decimals/);
    expect(() => fromMajorUnits('10.5', 'JPY')).toThrow(/0 decimals/);
    expect(() => fromMajorUnits('1e3', 'USD')).toThrow(/not a decimal/);
    expect(() => toMajorUnits('1', 'XXX')).toThrow(/unsupported currency/);
  });

  it('knows a currency only by its code, never by a name every object has', () => {
    expect([currencyExponent('HKD'), currencyExponent('JPY')]).toEqual([2, 0]);
    expect(['XXX', 'toString', 'constructor', '__proto__', 'hasOwnProperty'].map(currencyExponent)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(() => toMajorUnits('1', 'toString')).toThrow(/unsupported currency/);
  });

  it('takes IDR in whole rupiah only, and every other currency to its last minor unit', () => {
    expect([isChargeableAmount('IDR', '1500000'), isChargeableAmount('IDR', '1500050'), isChargeableAmount('IDR', '5')]).toEqual([true, false, false]);
    expect([isChargeableAmount('HKD', '1255'), isChargeableAmount('JPY', '7')]).toEqual([true, true]);
  });

  it('accepts only canonical minor-unit strings', () => {
    expect(['0', '1', '1250', '9999999999999999'].every(isMinorUnits)).toBe(true);
    expect(['', '01', '1.0', '-1', ' 1', '10000000000000000', '1e3'].some(isMinorUnits)).toBe(false);
  });
});
