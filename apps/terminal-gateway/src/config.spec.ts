import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('terminal-gateway configuration', () => {
  it('uses the development admin token outside production, and needs ADMIN_TOKEN in production', () => {
    expect(loadConfig(configDefinition, {}).gateway.adminToken).toBe('dev-admin-token');
    expect(() => loadConfig(configDefinition, { NODE_ENV: 'production' })).toThrow(new ConfigError(['ADMIN_TOKEN: required when NODE_ENV=production']));
    expect(loadConfig(configDefinition, { NODE_ENV: 'production', ADMIN_TOKEN: 'operators-token-0123' }).gateway.adminToken).toBe('operators-token-0123');
  });
});
