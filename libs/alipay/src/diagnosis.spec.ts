import { isUntrustedAnswer, untrustedAnswerCause } from './diagnosis';

const claim = (resultCode: string) => ({ resultCode, resultStatus: 'F' as const, resultMessage: 'm' });

describe('the likely cause of an answer the client could not trust', () => {
  it('only an unsigned or badly signed answer counts as untrusted', () => {
    expect(isUntrustedAnswer('UNSIGNED_RESPONSE')).toBe(true);
    expect(isUntrustedAnswer('INVALID_RESPONSE_SIGNATURE')).toBe(true);
    for (const problem of ['TIMEOUT', 'NETWORK_ERROR', 'HTTP_STATUS', 'UNPARSABLE_RESPONSE', 'MISMATCHED_RESPONSE', 'REJECTED_LOCALLY', undefined] as const) {
      expect(isUntrustedAnswer(problem)).toBe(false);
    }
  });

  it.each([
    ['INVALID_SIGNATURE', 'ALIPAY_PRIVATE_KEY'],
    ['SIGNATURE_INVALID', 'ALIPAY_PRIVATE_KEY'],
    ['INVALID_CLIENT', 'ALIPAY_CLIENT_ID'],
    ['KEY_NOT_FOUND', 'ALIPAY_KEY_VERSION'],
  ])('an unsigned %s points at %s', (code, setting) => {
    expect(untrustedAnswerCause('UNSIGNED_RESPONSE', claim(code))).toContain(setting);
  });

  it('an unsigned answer claiming nothing known still names the settings to check', () => {
    expect(untrustedAnswerCause('UNSIGNED_RESPONSE', undefined)).toMatch(/ALIPAY_CLIENT_ID.*ALIPAY_PRIVATE_KEY.*ALIPAY_BASE_URL/);
  });

  it("a signature that does not verify points at Alipay's public key, whatever the answer claims", () => {
    expect(untrustedAnswerCause('INVALID_RESPONSE_SIGNATURE', claim('SUCCESS'))).toContain('ALIPAY_PUBLIC_KEY');
  });
});
