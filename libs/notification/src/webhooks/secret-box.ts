import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A stored secret no configured key opens (sealed with a key since removed, or altered). */
export class SecretUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretUnreadable';
  }
}

const SEALED = 'sealed:v1:';

/**
 * Keeps merchants' webhook signing secrets sealed at rest. HMAC needs the secret itself, so it cannot be
 * hashed; instead it is encrypted with AES-256-GCM under a key the database never sees (WEBHOOK_SECRET_KEYS,
 * from a Secret), bound to its endpoint so a sealed value copied to another endpoint does not open. The
 * first key seals; every key opens, so a key is rotated by putting the new one first, letting the service
 * re-seal what the old one sealed (`needsResealing`, done at start), then dropping the old one.
 * Without keys secrets are stored readable, as before, and values sealed earlier cannot be opened.
 *
 * Stored form: `sealed:v1:<key id>:<iv>:<tag>:<ciphertext>` (key id: the first 8 hex digits of the key's
 * SHA-256; the rest base64url).
 */
export class SecretBox {
  private readonly keys: Array<{ id: string; key: Buffer }>;

  constructor(keys: Buffer[]) {
    for (const key of keys) if (key.length !== 32) throw new Error('a webhook secret key is 32 bytes');
    this.keys = keys.map((key) => ({ id: createHash('sha256').update(key).digest('hex').slice(0, 8), key }));
  }

  /** whether secrets are sealed at all (a key is configured) */
  get sealing(): boolean {
    return this.keys.length > 0;
  }

  seal(secret: string, endpointId: string): string {
    const current = this.keys[0];
    if (!current) return secret;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv).setAAD(Buffer.from(endpointId));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SEALED + [current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join(':');
  }

  open(stored: string, endpointId: string): string {
    if (!stored.startsWith(SEALED)) return stored;
    const [id, iv, tag, sealed] = stored.slice(SEALED.length).split(':');
    const key = this.keys.find((k) => k.id === id);
    if (!key) throw new SecretUnreadable(`webhook secret sealed with key ${id}, which is not among WEBHOOK_SECRET_KEYS`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(endpointId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadable(`webhook secret of endpoint ${endpointId} does not open with key ${id}: altered, or sealed for another endpoint`);
    }
  }

  /** whether a stored value should be sealed again: readable while a key is configured, or sealed with a key other than the first */
  needsResealing(stored: string): boolean {
    const current = this.keys[0];
    return Boolean(current) && !stored.startsWith(`${SEALED}${current.id}:`);
  }
}
