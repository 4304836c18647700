import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The headers every delivery carries (docs/webhooks.md). */
export const WEBHOOK_HEADERS = {
  eventId: 'upm-event-id',
  eventType: 'upm-event-type',
  deliveryId: 'upm-delivery-id',
  attempt: 'upm-delivery-attempt',
  timestamp: 'upm-timestamp',
  signature: 'upm-signature',
} as const;

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** HMAC-SHA256 over `<timestamp>.<body>`, hex; the secret string itself (UTF-8) is the key. */
export function sign(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** `v1=<hex>` once per active secret, comma-separated, so a receiver on either side of a rotation verifies. */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return secrets.map((secret) => `v1=${sign(secret, timestamp, body)}`).join(', ');
}

/**
 * The receiver's check, exactly as docs/webhooks.md shows it: one of the `v1` signatures must match, and the
 * timestamp must be recent (a replayed old request fails).
 */
export function verifySignature(secret: string, header: string | undefined, timestamp: string | undefined, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  if (!header || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, Number(timestamp), body), 'hex');
  return header.split(',').some((part) => {
    const [scheme, value] = part.trim().split('=', 2);
    if (scheme !== 'v1' || !value || !/^[0-9a-f]+$/.test(value)) return false;
    const given = Buffer.from(value, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
