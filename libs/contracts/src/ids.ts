const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A time-ordered id with a type prefix, e.g. `pay_01JDZ8X3Q5...`: 10 characters of milliseconds and 16 of
 * randomness (Crockford base 32, as in a ULID). Safe as an Alipay request id: letters, digits and `_` only.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let tail = '';
  for (const byte of random) tail += ALPHABET[byte % 32];
  return `${prefix}_${time}${tail}`;
}
