import type { AmsProblem } from './classify';
import type { AmsResult } from './models';

/** The answer problems that say something about our own configuration rather than about one payment. */
export type UntrustedAnswerProblem = Extract<AmsProblem, 'UNSIGNED_RESPONSE' | 'INVALID_RESPONSE_SIGNATURE'>;

export function isUntrustedAnswer(problem: AmsProblem | undefined): problem is UntrustedAnswerProblem {
  return problem === 'UNSIGNED_RESPONSE' || problem === 'INVALID_RESPONSE_SIGNATURE';
}

// Codes Alipay gives, unsigned, to a request it could not authenticate (spec §2.5, §4.4, §15)
const REQUEST_SIGNATURE_CODES: readonly string[] = ['INVALID_SIGNATURE', 'SIGNATURE_INVALID'];
const CLIENT_CODES: readonly string[] = ['INVALID_CLIENT', 'CLIENT_INVALID', 'INVALID_CLIENT_STATUS', 'UNKNOWN_CLIENT', 'KEY_NOT_FOUND'];

/** The codes Alipay answers, unsigned, to a request it could not authenticate: what a wrong key or client id brings. */
export const AUTHENTICATION_FAILURE_CODES: readonly string[] = [...REQUEST_SIGNATURE_CODES, ...CLIENT_CODES];

/**
 * The likely cause of an answer the client could not trust, for an operator. The claimed result is never
 * acted on (the outcome stays U): it only points at which setting to check.
 */
export function untrustedAnswerCause(problem: UntrustedAnswerProblem, claimed: AmsResult | undefined): string {
  const code = claimed?.resultCode;
  if (problem === 'INVALID_RESPONSE_SIGNATURE') {
    return "Alipay's answer carries a signature that does not verify: ALIPAY_PUBLIC_KEY is probably not Alipay's public key for this client id, or something between us and Alipay changes the answer";
  }
  if (code !== undefined && REQUEST_SIGNATURE_CODES.includes(code)) {
    return 'Alipay could not verify our request signature: ALIPAY_PRIVATE_KEY probably does not match the public key uploaded to Antom for this client id (or ALIPAY_KEY_VERSION names another key)';
  }
  if (code !== undefined && CLIENT_CODES.includes(code)) {
    return 'Alipay does not know this client id or its key version: check ALIPAY_CLIENT_ID, ALIPAY_KEY_VERSION and ALIPAY_BASE_URL (sandbox or production gateway)';
  }
  return 'Alipay answered without a signature: a wrong ALIPAY_CLIENT_ID, ALIPAY_PRIVATE_KEY or ALIPAY_BASE_URL, or a proxy answering in its place';
}
