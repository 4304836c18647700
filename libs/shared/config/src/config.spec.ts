import { z } from 'zod';
import { ConfigError, defineConfig, loadConfig } from './config';
import { commonEnv, databaseEnv, env, kafkaEnv } from './env';

const definition = defineConfig(
  { PORT: env.port(3000), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_x'), RETRY_DELAYS_MS: env.intList('1,2'), FLAG: env.bool(false), NAME: z.string().min(1) },
  (e) => ({ port: e.PORT, brokers: e.KAFKA_BROKERS, db: e.DATABASE_URL, delays: e.RETRY_DELAYS_MS, flag: e.FLAG, name: e.NAME }),
);

describe('loadConfig', () => {
  it('applies defaults and maps to the typed object', () => {
    expect(loadConfig(definition, { NAME: 'a' })).toEqual({
      port: 3000, brokers: ['127.0.0.1:9092'], db: 'postgres://postgres@127.0.0.1:5432/upm_x', delays: [1, 2], flag: false, name: 'a',
    });
  });

  it('reads and coerces the values given', () => {
    const config = loadConfig(definition, { NAME: 'a', PORT: '4000', KAFKA_BROKERS: 'k1:9092,k2:9092', RETRY_DELAYS_MS: '5, 6 ,7', FLAG: 'true' });
    expect(config).toMatchObject({ port: 4000, brokers: ['k1:9092', 'k2:9092'], delays: [5, 6, 7], flag: true });
  });

  it('names every bad key at once', () => {
    let error: unknown;
    try {
      loadConfig(definition, { PORT: 'eighty', KAFKA_BROKERS: 'nope', DATABASE_URL: 'not a url', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const keys = (error as ConfigError).problems.map((p) => p.split(':')[0]).sort();
    expect(keys).toEqual(['DATABASE_URL', 'KAFKA_BROKERS', 'LOG_LEVEL', 'NAME', 'PORT']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(definition, { NAME: 'a', PORT: '' }).port).toBe(3000);
  });
});
