import { generateKeyPairSync } from 'node:crypto';
import { classifyAnswer, classifyTransportFailure, RawAnswer, resultOf } from './classify';
import { signedResponseHeaders } from './signature';

const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 });
const context = { path: '/ams/api/v1/payments/pay', clientId: 'CLIENT_1', alipayPublicKey: alipay.publicKey };
const time = '2024-06-01T12:06:02+08:00';

function signed(body: string, privateKey = alipay.privateKey, status = 200): RawAnswer {
  const headers = signedResponseHeaders({ path: context.path, clientId: context.clientId, time, body, privateKey });
  return { status, headers, body: Buffer.from(body) };
}
const result = (status: string, code: string) => JSON.stringify({ result: { resultCode: code, resultStatus: status, resultMessage: 'm' }, paymentId: 'P1' });

describe('classifying an AMS answer', () => {
  it.each([
    ['S', 'SUCCESS'],
    ['F', 'USER_BALANCE_NOT_ENOUGH'],
    ['U', 'PAYMENT_IN_PROCESS'],
  ])('a signed HTTP 200 answer is taken at its resultStatus (%s %s)', (status, code) => {
    const classified = classifyAnswer(signed(result(status, code)), context);
    expect(classified).toEqual({ outcome: status, resultCode: code, resultMessage: 'm', body: JSON.parse(result(status, code)) });
  });

  it('branches on resultStatus, not on resultCode', () => {
    expect(classifyAnswer(signed(result('U', 'SUCCESS')), context).outcome).toBe('U');
    expect(classifyAnswer(signed(result('F', 'SOMETHING_NEW')), context).outcome).toBe('F');
  });

  it('an unsigned error answer (INVALID_SIGNATURE) is U, with the claim kept for diagnosis', () => {
    const answer = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(result('F', 'INVALID_SIGNATURE')) };
    const classified = classifyAnswer(answer, context);
    expect(classified).toMatchObject({ outcome: 'U', problem: 'UNSIGNED_RESPONSE', resultCode: 'UNSIGNED_RESPONSE', claimedResult: { resultCode: 'INVALID_SIGNATURE', resultStatus: 'F' } });
    expect(classified.body).toBeUndefined();
  });

  it('a tampered body, a foreign key, another path or a missing response-time is U', () => {
    const genuine = signed(result('S', 'SUCCESS'));
    const tampered = { ...genuine, body: Buffer.from(result('S', 'SUCCESS').replace('P1', 'P2')) };
    const noTime: RawAnswer = { ...genuine, headers: { ...genuine.headers, 'response-time': undefined } };
    for (const [answer, ctx] of [
      [tampered, context],
      [signed(result('S', 'SUCCESS'), impostor.privateKey), context],
      [genuine, { ...context, path: '/ams/sandbox/api/v1/payments/pay' }],
      [genuine, { ...context, clientId: 'CLIENT_2' }],
      [noTime, context],
    ] as const) {
      expect(classifyAnswer(answer, ctx)).toMatchObject({ outcome: 'U', problem: 'INVALID_RESPONSE_SIGNATURE' });
    }
  });

  it('a signed answer that names another request than the one sent is U', () => {
    const answer = (paymentRequestId: string) => signed(JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'm' }, paymentRequestId, paymentId: 'P1' }));
    const ours = { ...context, requestIds: { paymentRequestId: 'pay_1' } };
    expect(classifyAnswer(answer('pay_1'), ours).outcome).toBe('S');
    expect(classifyAnswer(answer('pay_2'), ours)).toMatchObject({ outcome: 'U', problem: 'MISMATCHED_RESPONSE', claimedResult: { resultStatus: 'S' } });
    // an answer that does not repeat the id is taken as it is
    expect(classifyAnswer(signed(result('S', 'SUCCESS')), ours).outcome).toBe('S');
  });

  it('any non-200 is U, even a signed F', () => {
    expect(classifyAnswer(signed(result('F', 'PROCESS_FAIL'), alipay.privateKey, 500), context)).toMatchObject({ outcome: 'U', problem: 'HTTP_STATUS' });
    expect(classifyAnswer({ status: 404, headers: {}, body: Buffer.from('<html/>') }, context)).toMatchObject({ outcome: 'U', problem: 'HTTP_STATUS' });
  });

  it('a signed body that is not JSON or has no valid result is U', () => {
    for (const body of ['not json', '{}', '[1]', JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'X' } })]) {
      expect(classifyAnswer(signed(body), context)).toMatchObject({ outcome: 'U', problem: 'UNPARSABLE_RESPONSE' });
    }
  });

  it('transport failures are U', () => {
    expect(classifyTransportFailure('TIMEOUT', 'late')).toEqual({ outcome: 'U', resultCode: 'TIMEOUT', resultMessage: 'late', problem: 'TIMEOUT' });
    expect(classifyTransportFailure('NETWORK_ERROR', 'reset').outcome).toBe('U');
  });

  it('reads a result with a missing message as an empty one', () => {
    expect(resultOf({ result: { resultCode: 'SUCCESS', resultStatus: 'S' } })).toEqual({ resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: '' });
    expect(resultOf({ result: { resultCode: '', resultStatus: 'S' } })).toBeUndefined();
  });
});
