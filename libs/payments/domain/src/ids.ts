/**
 * Ids the saga derives instead of generating, so that a redelivered input or a re-run decision yields
 * byte-identical commands, and Alipay's idempotency (paymentRequestId, refundRequestId) does the rest.
 */

const MAX_ID = 64; // idSchema and Alipay's String(64)

/** One Pay per payment, never re-sent with other content: the payment's own id is the request id. */
export function paymentRequestIdOf(paymentId: string): string {
  return paymentId;
}

/**
 * The `nth` full-amount refund that reverses a paid payment Alipay would not cancel. Deterministic, so a
 * retried Refund reuses it; letters, digits, `_` and `-` only (Alipay rejects other characters). A later
 * reversal (the first one failed, the reports then made the payment SUCCEEDED and the cashier voided it)
 * needs an id of its own: Alipay answers a refundRequestId it has seen with that refund's old result.
 */
export function reversalRefundIdOf(paymentId: string, nth = 1): string {
  return boundedId(nth === 1 ? 'rev_' : `rev${nth}_`, paymentId);
}

function boundedId(prefix: string, base: string): string {
  const id = prefix + base;
  if (id.length <= MAX_ID) return id;
  // Too long: keep a readable head and make it unique again with a hash of the whole id.
  const hash = fnv1a64(base);
  return `${prefix}${base.slice(0, MAX_ID - prefix.length - hash.length - 1)}_${hash}`;
}

/** FNV-1a, 64 bits, as 16 hex digits: stable across processes and versions, no crypto needed. */
function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}
