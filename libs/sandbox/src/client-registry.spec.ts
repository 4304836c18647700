import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { publicKeyBase64, publicKeyPem } from '@upm/alipay';
import { ClientRegistry, readKeySource } from './client-registry';

const first = generateKeyPairSync('rsa', { modulusLength: 2048 });
const second = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('ClientRegistry', () => {
  it('looks keys up by version, the latest one when none is named', () => {
    const registry = new ClientRegistry('CUSTOMER_DEFAULT');
    registry.register({ clientId: 'C1', publicKey: publicKeyPem(first.publicKey) });
    registry.register({ clientId: 'C1', publicKey: publicKeyBase64(second.publicKey), keyVersion: '2', customerId: 'CUSTOMER_1' });
    const latest = registry.keyFor('C1', undefined);
    expect(latest.found && publicKeyPem(latest.key)).toBe(publicKeyPem(second.publicKey));
    const v1 = registry.keyFor('C1', '1');
    expect(v1.found && publicKeyPem(v1.key)).toBe(publicKeyPem(first.publicKey));
    expect(registry.keyFor('C1', '3')).toEqual({ found: false, reason: 'UNKNOWN_KEY_VERSION' });
    expect(registry.keyFor('C2', undefined)).toEqual({ found: false, reason: 'UNKNOWN_CLIENT' });
    expect(registry.customers().sort()).toEqual(['CUSTOMER_1', 'CUSTOMER_DEFAULT']);
  });
});

describe('readKeySource', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'registry-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file, passes PEM and Base64 through, and names a missing file', () => {
    const pem = publicKeyPem(first.publicKey);
    writeFileSync(path.join(dir, 'key.pem'), pem);
    expect(readKeySource(path.join(dir, 'key.pem'))).toBe(pem);
    expect(readKeySource(pem)).toBe(pem.trim());
    expect(readKeySource(publicKeyBase64(first.publicKey))).toBe(publicKeyBase64(first.publicKey));
    expect(() => readKeySource(path.join(dir, 'missing.pem'))).toThrow(/key file not found/);
  });
});
