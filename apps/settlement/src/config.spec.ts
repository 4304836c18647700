import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('settlement configuration', () => {
  it('polls no source and uses the admin token by default', () => {
    const config = loadConfig(configDefinition, {});
    expect(config.settlement).toMatchObject({ adminToken: 'dev-admin-token', feeMinor: 10n, pollIntervalMs: 300_000, reportDir: undefined, sftp: undefined });
  });

  it('maps the folder, the SFTP account with its key file, and the finance token', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'settle-config-'));
    writeFileSync(path.join(dir, 'key'), 'PRIVATE KEY');
    const config = loadConfig(configDefinition, {
      SETTLEMENT_ADMIN_TOKEN: 'finance-token-0123', SETTLEMENT_REPORT_DIR: '/reports', SETTLEMENT_FEE_MINOR: '0',
      SETTLEMENT_SFTP_HOST: 'sftp.example', SETTLEMENT_SFTP_PORT: '2222', SETTLEMENT_SFTP_USERNAME: 'acme', SETTLEMENT_SFTP_PRIVATE_KEY_FILE: path.join(dir, 'key'),
      SETTLEMENT_SFTP_HOST_KEY_SHA256: 'abc',
    });
    expect(config.settlement).toMatchObject({
      adminToken: 'finance-token-0123', reportDir: '/reports', feeMinor: 0n,
      sftp: { host: 'sftp.example', port: 2222, username: 'acme', privateKey: 'PRIVATE KEY', remoteDir: '/v1/settlements', hostKeySha256: 'abc' },
    });
  });

  it('in production (NODE_ENV=production, as in the image) refuses to fall back to the development token', () => {
    expect(() => loadConfig(configDefinition, { NODE_ENV: 'production' })).toThrow(new ConfigError(['ADMIN_TOKEN: required when NODE_ENV=production']));
    expect(loadConfig(configDefinition, { NODE_ENV: 'production', ADMIN_TOKEN: 'operators-token-0123' }).settlement.adminToken).toBe('operators-token-0123');
    // the finance API's own token is enough: the operators' one is not needed then
    expect(loadConfig(configDefinition, { NODE_ENV: 'production', SETTLEMENT_ADMIN_TOKEN: 'finance-token-0123' }).settlement.adminToken).toBe('finance-token-0123');
  });

  it('reads the fee schedule: a rate in basis points and a fixed part per currency, no rate by default', () => {
    expect(loadConfig(configDefinition, {}).settlement).toMatchObject({ feeMinor: 10n, feeRateBps: 0, feeMinorByCurrency: {} });
    const config = loadConfig(configDefinition, { SETTLEMENT_FEE_RATE_BPS: '220', SETTLEMENT_FEE_MINOR: 'HKD:100,JPY:1,5' });
    expect(config.settlement).toMatchObject({ feeMinor: 5n, feeRateBps: 220, feeMinorByCurrency: { HKD: 100n, JPY: 1n } });
    expect(() => loadConfig(configDefinition, { SETTLEMENT_FEE_RATE_BPS: '2.2' })).toThrow(/SETTLEMENT_FEE_RATE_BPS/);
    expect(() => loadConfig(configDefinition, { SETTLEMENT_FEE_MINOR: 'HKD:1,HKD:2' })).toThrow(new ConfigError(['SETTLEMENT_FEE_MINOR: HKD is named twice']));
  });

  it('names each bad setting', () => {
    expect(() => loadConfig(configDefinition, { SETTLEMENT_FEE_MINOR: '-1', SETTLEMENT_SFTP_PRIVATE_KEY_FILE: '/nowhere/key' })).toThrow(ConfigError);
    try {
      loadConfig(configDefinition, { SETTLEMENT_FEE_MINOR: '-1', SETTLEMENT_SFTP_PRIVATE_KEY_FILE: '/nowhere/key' });
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['SETTLEMENT_FEE_MINOR', 'SETTLEMENT_SFTP_PRIVATE_KEY_FILE']);
    }
  });
});
