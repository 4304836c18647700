import { checkPaymentCode, maskPaymentCode } from './payment-code';

describe('payment code format', () => {
  it.each(['281012020000000000000000', '251001020123456789012345', '2893612204263667830', '28024456785672301', '3010010212345678901234567890123'])(
    'accepts %s',
    (code) => expect(checkPaymentCode(code)).toEqual({ ok: true, code }),
  );

  it.each([
    ['28101202000000000000000x', 'NOT_DIGITS'],
    ['', 'NOT_DIGITS'],
    ['281012020', 'BAD_LENGTH'],
    ['281012020000000000000000000000000', 'BAD_LENGTH'],
    ['131012020000000000000000', 'BAD_PREFIX'],
    ['241012020000000000000000', 'BAD_PREFIX'],
  ])('refuses %s as %s', (code, problem) => expect(checkPaymentCode(code)).toEqual({ ok: false, problem }));

  it('strips the white space a scanner may add', () => {
    expect(checkPaymentCode(' 2810 1202 0000 0000 0000 0000 ')).toEqual({ ok: true, code: '281012020000000000000000' });
  });

  it('masks all but the issuer prefix and the last four digits', () => {
    expect(maskPaymentCode('281012020000000000001234')).toBe('281012**************1234');
  });
});
