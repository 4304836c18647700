import { generateKeyPairSync } from 'node:crypto';
import { isNotificationAck, NOTIFICATION_ACK, notificationAck, parseNotification, parseReplayedNotification } from './notifications';
import { signedRequestHeaders } from './signature';

const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const path = '/alipay/notify?store=7';
const body = JSON.stringify({
  notifyType: 'PAYMENT_RESULT',
  result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success.' },
  paymentRequestId: 'PR1',
  paymentId: '202406011940108001001881I0000000001',
  paymentAmount: { currency: 'HKD', value: '1250' },
  paymentCreateTime: '2024-06-01T12:06:00+08:00',
  paymentTime: '2024-06-01T12:06:02+08:00',
});
const headers = (raw: string, privateKey = alipay.privateKey) =>
  signedRequestHeaders({ path, clientId: 'CLIENT_1', time: '2024-06-01T12:06:03+08:00', body: raw, privateKey });

describe('parseNotification', () => {
  it('accepts a notification signed over the notify path, with the key of its client id', () => {
    const parsed = parseNotification({ path, headers: headers(body), rawBody: Buffer.from(body) }, (clientId) => (clientId === 'CLIENT_1' ? alipay.publicKey : undefined));
    expect(parsed).toMatchObject({ ok: true, clientId: 'CLIENT_1', requestTime: '2024-06-01T12:06:03+08:00', notification: { notifyType: 'PAYMENT_RESULT', paymentRequestId: 'PR1' } });
  });

  it('accepts a refund notification', () => {
    const refund = JSON.stringify({ notifyType: 'REFUND_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'ok' }, refundStatus: 'SUCCESS', refundRequestId: 'R1', refundAmount: { currency: 'JPY', value: '5' } });
    expect(parseNotification({ path, headers: headers(refund), rawBody: refund }, alipay.publicKey)).toMatchObject({ ok: true, notification: { notifyType: 'REFUND_RESULT' } });
  });

  it.each([
    ['a tampered body', { path, headers: headers(body), rawBody: body.replace('1250', '1251') }, 'INVALID_SIGNATURE'],
    ['another path', { path: '/alipay/notify', headers: headers(body), rawBody: body }, 'INVALID_SIGNATURE'],
    ['another key', { path, headers: headers(body, other.privateKey), rawBody: body }, 'INVALID_SIGNATURE'],
    ['no signature', { path, headers: { ...headers(body), signature: undefined }, rawBody: body }, 'MISSING_HEADERS'],
  ])('refuses %s', (_case, input, reason) => {
    expect(parseNotification(input, alipay.publicKey)).toMatchObject({ ok: false, reason });
  });

  it('refuses an unknown client id and a body that is not a final notification', () => {
    expect(parseNotification({ path, headers: headers(body), rawBody: body }, () => undefined)).toMatchObject({ ok: false, reason: 'UNKNOWN_CLIENT' });
    const processing = body.replace('"resultStatus":"S"', '"resultStatus":"U"');
    expect(parseNotification({ path, headers: headers(processing), rawBody: processing }, alipay.publicKey)).toMatchObject({ ok: false, reason: 'MALFORMED_BODY' });
    const noId = JSON.stringify({ ...JSON.parse(body), paymentId: undefined });
    expect(parseNotification({ path, headers: headers(noId), rawBody: noId }, alipay.publicKey)).toMatchObject({ ok: false, reason: 'MALFORMED_BODY' });
  });
});

describe('parseReplayedNotification (one kept earlier, replayed by an operator)', () => {
  const replayed = (signedWith = alipay.privateKey, text = body) => ({ path, headers: headers(text, signedWith), rawBody: Buffer.from(text) });

  it('verifies it with the current key, or with a retired key that is listed', () => {
    expect(parseReplayedNotification(replayed(), alipay.publicKey, [])).toMatchObject({ ok: true, clientId: 'CLIENT_1', notification: { paymentRequestId: 'PR1' } });
    expect(parseReplayedNotification(replayed(other.privateKey), alipay.publicKey, [other.publicKey])).toMatchObject({ ok: true, notification: { paymentRequestId: 'PR1' } });
  });

  it('refuses one signed with a key neither current nor listed, and a body changed since it was signed', () => {
    expect(parseReplayedNotification(replayed(other.privateKey), alipay.publicKey, [])).toMatchObject({ ok: false, reason: 'INVALID_SIGNATURE' });
    const changed = { ...replayed(), rawBody: Buffer.from(body.replace('PR1', 'PR2')) };
    expect(parseReplayedNotification(changed, alipay.publicKey, [other.publicKey])).toMatchObject({ ok: false, reason: 'INVALID_SIGNATURE' });
  });

  it('refuses a client id without a current key, whatever keys are retired', () => {
    expect(parseReplayedNotification(replayed(other.privateKey), () => undefined, [other.publicKey])).toMatchObject({ ok: false, reason: 'UNKNOWN_CLIENT' });
  });

  it('refuses one without its headers, and a body it cannot read', () => {
    expect(parseReplayedNotification({ ...replayed(), headers: { ...headers(body), signature: undefined } }, alipay.publicKey, [])).toMatchObject({ ok: false, reason: 'MISSING_HEADERS' });
    const noId = JSON.stringify({ ...JSON.parse(body), paymentId: undefined });
    expect(parseReplayedNotification(replayed(alipay.privateKey, noId), alipay.publicKey, [])).toMatchObject({ ok: false, reason: 'MALFORMED_BODY' });
  });
});

describe('the acknowledgement', () => {
  it('is exactly the SUCCESS result of spec §9', () => {
    expect(JSON.parse(NOTIFICATION_ACK)).toEqual({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' } });
    const ack = notificationAck('CLIENT_1', new Date('2024-06-01T04:06:03Z'));
    expect(ack).toEqual({ status: 200, headers: { 'content-type': 'application/json', 'client-id': 'CLIENT_1', 'response-time': '2024-06-01T12:06:03+08:00' }, body: NOTIFICATION_ACK });
  });

  it('is recognised whatever the JSON spacing, and nothing else is', () => {
    expect(isNotificationAck(200, NOTIFICATION_ACK)).toBe(true);
    expect(isNotificationAck(200, '{ "result": { "resultStatus": "S", "resultMessage": "success", "resultCode": "SUCCESS" } }')).toBe(true);
    expect(isNotificationAck(500, NOTIFICATION_ACK)).toBe(false);
    expect(isNotificationAck(200, 'SUCCESS')).toBe(false);
    expect(isNotificationAck(200, NOTIFICATION_ACK.replace('success', 'success.'))).toBe(false);
    expect(isNotificationAck(200, NOTIFICATION_ACK.replace('"S"', '"F"'))).toBe(false);
    expect(isNotificationAck(200, '')).toBe(false);
  });
});
