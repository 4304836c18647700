/**
 * Local format check of a scanned Alipay+ payment code (UPM). Only clearly malformed values are refused
 * here; Alipay decides about the rest (INVALID_PAYMENT_CODE / EXPIRED_CODE).
 * Digits only, 16–32 long, issuer prefix 25–30; the mainstream layout is 24 digits: a 6-digit issuer id,
 * the business type `02` and a 16-digit user number.
 */
export type PaymentCodeProblem = 'NOT_DIGITS' | 'BAD_LENGTH' | 'BAD_PREFIX';

export function checkPaymentCode(raw: string): { ok: true; code: string } | { ok: false; problem: PaymentCodeProblem } {
  const code = raw.replace(/\s+/g, '');
  if (!/^[0-9]+$/.test(code)) return { ok: false, problem: 'NOT_DIGITS' };
  if (code.length < 16 || code.length > 32) return { ok: false, problem: 'BAD_LENGTH' };
  const prefix = Number(code.slice(0, 2));
  if (prefix < 25 || prefix > 30) return { ok: false, problem: 'BAD_PREFIX' };
  return { ok: true, code };
}

/** Keeps the issuer prefix and the last four digits: `281012**************0000`. */
export function maskPaymentCode(code: string): string {
  if (code.length <= 10) return '*'.repeat(code.length);
  return code.slice(0, 6) + '*'.repeat(code.length - 10) + code.slice(-4);
}
