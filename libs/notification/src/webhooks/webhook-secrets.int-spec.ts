import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { freshDatabase } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from '../database';
import { endpointsService, testOptions } from '../testing/webhook-test-kit';
import { SecretBox, SecretUnreadable } from './secret-box';

/** Signing secrets at rest: sealed when a key is configured, sealed again when the key rotates. */
let dataSource: DataSource;
const [firstKey, secondKey] = [randomBytes(32), randomBytes(32)];
const options = testOptions();
const service = (keys: Buffer[]) => endpointsService(dataSource, options, keys);
const stored = async (endpointId: string): Promise<string[]> =>
  (await dataSource.query('SELECT secret FROM webhook_secrets WHERE endpoint_id = $1 ORDER BY created_at', [endpointId])).map((r: { secret: string }) => r.secret);

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_webhook_secrets', NOTIFICATION_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

describe('webhook signing secrets at rest', () => {
  it('stores a new and a rotated secret sealed, never as given', async () => {
    const endpoints = service([firstKey]);
    const created = await endpoints.create('mer_SEAL', { url: 'http://127.0.0.1:1/hook', eventTypes: ['*'] });
    const rotated = await endpoints.rotateSecret('mer_SEAL', created.endpointId, 60);
    const rows = await stored(created.endpointId);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^sealed:v1:/);
    expect(rows.join()).not.toContain(created.secret);
    expect(rows.join()).not.toContain(rotated.secret);
    const box = new SecretBox([firstKey]);
    expect(rows.map((row) => box.open(row, created.endpointId))).toEqual([created.secret, rotated.secret]);
  });

  it('seals what was stored readable, then moves every secret to a new first key; the old key can then go', async () => {
    const readable = await service([]).create('mer_OLD', { url: 'http://127.0.0.1:1/old', eventTypes: ['*'] });
    expect(await stored(readable.endpointId)).toEqual([readable.secret]);

    expect(await service([firstKey]).resealSecrets()).toBe(1); // only the readable one: the others are sealed with this key already
    const [sealed] = await stored(readable.endpointId);
    expect(sealed).toMatch(/^sealed:v1:/);
    expect(new SecretBox([firstKey]).open(sealed, readable.endpointId)).toBe(readable.secret);

    const total = Number((await dataSource.query('SELECT count(*) AS n FROM webhook_secrets'))[0].n);
    expect(await service([secondKey, firstKey]).resealSecrets()).toBe(total);
    expect(await service([secondKey, firstKey]).resealSecrets()).toBe(0);
    const [moved] = await stored(readable.endpointId);
    expect(new SecretBox([secondKey]).open(moved, readable.endpointId)).toBe(readable.secret);
    expect(() => new SecretBox([firstKey]).open(moved, readable.endpointId)).toThrow(SecretUnreadable);
  });

  it('leaves a secret no listed key opens as it is, and seals the others all the same', async () => {
    const lost = await service([randomBytes(32)]).create('mer_LOST', { url: 'http://127.0.0.1:1/lost', eventTypes: ['*'] });
    const [unreadable] = await stored(lost.endpointId);
    const fresh = await service([]).create('mer_FRESH', { url: 'http://127.0.0.1:1/fresh', eventTypes: ['*'] });
    expect(await service([secondKey]).resealSecrets()).toBe(1);
    expect(await stored(lost.endpointId)).toEqual([unreadable]);
    expect(new SecretBox([secondKey]).open((await stored(fresh.endpointId))[0], fresh.endpointId)).toBe(fresh.secret);
  });
});

describe('a deleted endpoint\'s secrets', () => {
  it('are erased with it, every one of them, and no other endpoint\'s', async () => {
    const endpoints = service([firstKey]);
    const deleted = await endpoints.create('mer_ERASE', { url: 'http://127.0.0.1:1/erase', eventTypes: ['*'] });
    await endpoints.rotateSecret('mer_ERASE', deleted.endpointId, 3600);
    const kept = await endpoints.create('mer_ERASE', { url: 'http://127.0.0.1:1/keep', eventTypes: ['*'] });

    await endpoints.delete('mer_ERASE', deleted.endpointId);

    expect(await stored(deleted.endpointId)).toEqual([]);
    expect(await stored(kept.endpointId)).toHaveLength(1);
  });
});

describe('webhook secret rotation', () => {
  it('concurrent rotations of one endpoint leave exactly one current secret; every other expires', async () => {
    const endpoints = service([]);
    const created = await endpoints.create('mer_RACE', { url: 'http://127.0.0.1:1/race', eventTypes: ['*'] });
    const rotations = await Promise.all(Array.from({ length: 8 }, () => endpoints.rotateSecret('mer_RACE', created.endpointId, 60)));
    const rows: Array<{ secret: string; expires_at: Date | null }> = await dataSource.query('SELECT secret, expires_at FROM webhook_secrets WHERE endpoint_id = $1', [created.endpointId]);
    expect(rows).toHaveLength(1 + rotations.length);
    const current = rows.filter((row) => row.expires_at === null);
    expect(current).toHaveLength(1);
    expect(rotations.map((rotation) => rotation.secret)).toContain(current[0].secret);
  });
});
