import { newWebhookSecret, sign, signatureHeader, verifySignature } from './signing';

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: 'evt', type: 'PaymentSucceeded', data: { amount: '1250' } });
  const now = 1_764_300_000_000;
  const ts = String(Math.floor(now / 1000));

  it('verifies with the secret that signed it and with no other', () => {
    const secret = newWebhookSecret();
    const header = signatureHeader([secret], Number(ts), body);
    expect(header).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, header, ts, body, 300, now)).toBe(true);
    expect(verifySignature(newWebhookSecret(), header, ts, body, 300, now)).toBe(false);
  });

  it('fails when the body or the timestamp was changed', () => {
    const secret = newWebhookSecret();
    const header = signatureHeader([secret], Number(ts), body);
    expect(verifySignature(secret, header, ts, body.replace('1250', '9250'), 300, now)).toBe(false);
    expect(verifySignature(secret, header, String(Number(ts) + 1), body, 300, now)).toBe(false);
  });

  it('refuses a timestamp outside the tolerance', () => {
    const secret = newWebhookSecret();
    const old = Number(ts) - 301;
    expect(verifySignature(secret, signatureHeader([secret], old, body), String(old), body, 300, now)).toBe(false);
  });

  it('during a rotation carries one signature per active secret, and either secret verifies', () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
    const header = signatureHeader([newSecret, oldSecret], Number(ts), body);
    expect(header.split(', ')).toEqual([`v1=${sign(newSecret, Number(ts), body)}`, `v1=${sign(oldSecret, Number(ts), body)}`]);
    expect(verifySignature(oldSecret, header, ts, body, 300, now)).toBe(true);
    expect(verifySignature(newSecret, header, ts, body, 300, now)).toBe(true);
  });
});
