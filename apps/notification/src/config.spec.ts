import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('notification configuration', () => {
  it('uses the development admin token outside production', () => {
    expect(loadConfig(configDefinition, {}).notification.adminToken).toBe('dev-admin-token');
    expect(loadConfig(configDefinition, { NODE_ENV: 'development' }).notification.adminToken).toBe('dev-admin-token');
  });

  it('in production (NODE_ENV=production, as in the image) needs ADMIN_TOKEN set', () => {
    expect(() => loadConfig(configDefinition, { NODE_ENV: 'production' })).toThrow(new ConfigError(['ADMIN_TOKEN: required when NODE_ENV=production']));
    expect(loadConfig(configDefinition, { NODE_ENV: 'production', ADMIN_TOKEN: 'operators-token-0123' }).notification.adminToken).toBe('operators-token-0123');
  });

  it('refuses a token shorter than 12 characters', () => {
    expect(() => loadConfig(configDefinition, { ADMIN_TOKEN: 'short' })).toThrow(new ConfigError(['ADMIN_TOKEN: at least 12 characters']));
  });
});

describe('notification configuration: keys sealing webhook secrets', () => {
  it('reads none by default and a comma-separated list of base64 keys in order', () => {
    expect(loadConfig(configDefinition, {}).notification.secretKeys).toEqual([]);
    const [first, second] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    const config = loadConfig(configDefinition, { WEBHOOK_SECRET_KEYS: `${first.toString('base64')}, ${second.toString('base64')}` });
    expect(config.notification.secretKeys).toEqual([first, second]);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => loadConfig(configDefinition, { WEBHOOK_SECRET_KEYS: Buffer.alloc(16).toString('base64') })).toThrow(
      new ConfigError(['WEBHOOK_SECRET_KEYS: each key must be 32 bytes, base64 (e.g. openssl rand -base64 32)']),
    );
  });
});

describe('notification configuration: endpoint addresses', () => {
  it('refuses loopback, private and link-local endpoint addresses unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES allows them', () => {
    expect(loadConfig(configDefinition, {}).notification.allowPrivateAddresses).toBe(false);
    expect(loadConfig(configDefinition, { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' }).notification.allowPrivateAddresses).toBe(true);
    expect(() => loadConfig(configDefinition, { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'yes' })).toThrow(ConfigError);
  });
});

describe('notification configuration: the delivery log', () => {
  it('keeps settled deliveries 30 days unless WEBHOOK_LOG_RETENTION_DAYS says otherwise, and at least a day', () => {
    expect(loadConfig(configDefinition, {}).notification.logRetentionDays).toBe(30);
    expect(loadConfig(configDefinition, { WEBHOOK_LOG_RETENTION_DAYS: '90' }).notification.logRetentionDays).toBe(90);
    expect(() => loadConfig(configDefinition, { WEBHOOK_LOG_RETENTION_DAYS: '0' })).toThrow(ConfigError);
  });
});
