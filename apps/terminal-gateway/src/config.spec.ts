import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('terminal-gateway configuration', () => {
  it('uses the development admin token outside production, and needs ADMIN_TOKEN in production', () => {
    expect(loadConfig(configDefinition, {}).gateway.adminToken).toBe('dev-admin-token');
    expect(() => loadConfig(configDefinition, { NODE_ENV: 'production' })).toThrow(new ConfigError(['ADMIN_TOKEN: required when NODE_ENV=production']));
    expect(loadConfig(configDefinition, { NODE_ENV: 'production', ADMIN_TOKEN: 'operators-token-0123' }).gateway.adminToken).toBe('operators-token-0123');
  });

  it('reads the lease of an open event stream from SSE_STREAM_LEASE_MS (30 s by default), and refuses one shorter than a second', () => {
    expect(loadConfig(configDefinition, {}).gateway.sseStreamLeaseMs).toBe(30_000);
    expect(loadConfig(configDefinition, { SSE_STREAM_LEASE_MS: '5000' }).gateway.sseStreamLeaseMs).toBe(5000);
    expect(() => loadConfig(configDefinition, { SSE_STREAM_LEASE_MS: '999' })).toThrow(ConfigError);
  });
});
