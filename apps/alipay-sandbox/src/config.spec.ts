import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('alipay-sandbox configuration', () => {
  it('defaults to port 3010 and real time, with no preconfigured clients', () => {
    const config = loadConfig(configDefinition, {});
    expect(config.http.port).toBe(3010);
    expect(config.sandbox).toMatchObject({ timeFactor: 1, hangMs: 30_000, pinDelayMs: 6_000, latencyMs: 0, clients: [], notifyFailures: true, privateKey: undefined, reportOpenDays: true, singleUseCodes: false });
  });

  it('reads SANDBOX_CLIENTS as clientId=<key file or Base64> pairs, and prefers the inline private key', () => {
    const config = loadConfig(configDefinition, {
      SANDBOX_CLIENTS: 'SANDBOX_A=/keys/a.pem, B_CLIENT=MIIBIjANBgkq+/abc==',
      SANDBOX_PRIVATE_KEY: 'inline',
      SANDBOX_PRIVATE_KEY_FILE: '/keys/sandbox.pem',
      SANDBOX_TIME_FACTOR: '100',
    });
    expect(config.sandbox.clients).toEqual([
      { clientId: 'SANDBOX_A', publicKey: '/keys/a.pem' },
      { clientId: 'B_CLIENT', publicKey: 'MIIBIjANBgkq+/abc==' },
    ]);
    expect(config.sandbox).toMatchObject({ privateKey: 'inline', timeFactor: 100 });
  });

  it('reads the contract’s settlement currencies as a list; none by default', () => {
    expect(loadConfig(configDefinition, {}).sandbox.settlementCurrencies).toEqual([]);
    expect(loadConfig(configDefinition, { SANDBOX_SETTLEMENT_CURRENCY: 'USD' }).sandbox.settlementCurrencies).toEqual(['USD']);
    expect(loadConfig(configDefinition, { SANDBOX_SETTLEMENT_CURRENCY: 'USD, HKD,USD' }).sandbox.settlementCurrencies).toEqual(['USD', 'HKD']);
  });

  it('delivers report files by itself only when SANDBOX_REPORT_DELIVERY is on, at the close plus the delay', () => {
    expect(loadConfig(configDefinition, {}).sandbox).toMatchObject({ reportDelivery: false, reportDeliveryDelayMs: 0 });
    expect(loadConfig(configDefinition, { SANDBOX_REPORT_DELIVERY: 'true', SANDBOX_REPORT_DELIVERY_DELAY_MS: '1800000' }).sandbox).toMatchObject({ reportDelivery: true, reportDeliveryDelayMs: 1_800_000 });
    expect(() => loadConfig(configDefinition, { SANDBOX_REPORT_DELIVERY_DELAY_MS: '-1' })).toThrow(ConfigError);
  });

  it('charges Antom’s sandbox fee of 10 minor units by default, and a rate plus a fixed part per currency on request', () => {
    expect(loadConfig(configDefinition, {}).sandbox.fees).toEqual({ feeRateBps: 0, feeMinor: 10n, feeMinorByCurrency: {} });
    expect(loadConfig(configDefinition, { SANDBOX_FEE_RATE_BPS: '220', SANDBOX_FEE_MINOR: 'HKD:100,JPY:1' }).sandbox.fees).toEqual({ feeRateBps: 220, feeMinor: 0n, feeMinorByCurrency: { HKD: 100n, JPY: 1n } });
    expect(loadConfig(configDefinition, { SANDBOX_FEE_MINOR: 'JPY:1,5' }).sandbox.fees).toEqual({ feeRateBps: 0, feeMinor: 5n, feeMinorByCurrency: { JPY: 1n } });
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadConfig(configDefinition, { SANDBOX_CLIENTS: 'no-key-here', SANDBOX_TIME_FACTOR: '0', SANDBOX_NOTIFY_FAILURES: 'maybe', SANDBOX_SETTLEMENT_CURRENCY: 'USD,XYZ', SANDBOX_FEE_RATE_BPS: '10001', SANDBOX_FEE_MINOR: 'HKD:1,HKD:2' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['SANDBOX_CLIENTS', 'SANDBOX_FEE_MINOR', 'SANDBOX_FEE_RATE_BPS', 'SANDBOX_NOTIFY_FAILURES', 'SANDBOX_SETTLEMENT_CURRENCY', 'SANDBOX_TIME_FACTOR']);
  });
});
