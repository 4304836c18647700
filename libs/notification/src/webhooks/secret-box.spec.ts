import { randomBytes } from 'node:crypto';
import { SecretBox, SecretUnreadable } from './secret-box';

const secret = 'whsec_3n7Qx0bY1yXh2a9KqWzL4c';
const oldKey = randomBytes(32);
const newKey = randomBytes(32);

describe('SecretBox', () => {
  it('seals a secret so the stored value does not show it, and opens it again for its endpoint', () => {
    const box = new SecretBox([newKey]);
    const stored = box.seal(secret, 'whe_1');
    expect(stored).toMatch(/^sealed:v1:[0-9a-f]{8}:/);
    expect(stored).not.toContain(secret);
    expect(box.seal(secret, 'whe_1')).not.toBe(stored); // a fresh IV each time
    expect(box.open(stored, 'whe_1')).toBe(secret);
    expect(box.needsResealing(stored)).toBe(false);
  });

  it('does not open a sealed value copied to another endpoint, or altered', () => {
    const box = new SecretBox([newKey]);
    const stored = box.seal(secret, 'whe_1');
    expect(() => box.open(stored, 'whe_2')).toThrow(SecretUnreadable);
    const parts = stored.split(':');
    const body = Buffer.from(parts[5], 'base64url');
    body[0] ^= 1;
    parts[5] = body.toString('base64url');
    expect(() => box.open(parts.join(':'), 'whe_1')).toThrow(SecretUnreadable);
  });

  it('rotates keys: the first seals, every key opens, and what an older key sealed is to be sealed again', () => {
    const before = new SecretBox([oldKey]).seal(secret, 'whe_1');
    const rotating = new SecretBox([newKey, oldKey]);
    expect(rotating.open(before, 'whe_1')).toBe(secret);
    expect(rotating.needsResealing(before)).toBe(true);
    const after = rotating.seal(rotating.open(before, 'whe_1'), 'whe_1');
    expect(rotating.needsResealing(after)).toBe(false);
    expect(new SecretBox([newKey]).open(after, 'whe_1')).toBe(secret);
    // once the old key is dropped, what only it sealed no longer opens, with a message naming the key
    expect(() => new SecretBox([newKey]).open(before, 'whe_1')).toThrow(/not among WEBHOOK_SECRET_KEYS/);
  });

  it('without keys stores secrets readable and reads readable ones; with a key, readable ones are to be sealed', () => {
    const none = new SecretBox([]);
    expect(none.sealing).toBe(false);
    expect(none.seal(secret, 'whe_1')).toBe(secret);
    expect(none.open(secret, 'whe_1')).toBe(secret);
    expect(none.needsResealing(secret)).toBe(false);
    expect(new SecretBox([newKey]).needsResealing(secret)).toBe(true);
    expect(new SecretBox([newKey]).open(secret, 'whe_1')).toBe(secret);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SecretBox([randomBytes(16)])).toThrow('32 bytes');
  });
});
