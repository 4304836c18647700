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
