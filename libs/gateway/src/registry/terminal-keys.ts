import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Terminal keys look like `tk.<keyId>.<secret>`: the key id finds the terminal, the 256-bit secret proves
 * possession. Only a SHA-256 of the secret is stored (the secret is random, so a slow hash adds nothing).
 */
export interface IssuedKey {
  key: string;
  keyId: string;
  keyHash: string;
}

export function issueTerminalKey(): IssuedKey {
  const keyId = randomBytes(9).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { key: `tk.${keyId}.${secret}`, keyId, keyHash: hashSecret(secret) };
}

export function parseTerminalKey(key: string): { keyId: string; secret: string } | null {
  const match = /^tk\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/.exec(key);
  return match ? { keyId: match[1], secret: match[2] } : null;
}

export function secretMatches(secret: string, keyHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(keyHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
