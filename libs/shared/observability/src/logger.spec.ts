import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { maskCodesInText } from './redaction';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { lines, logger: createLogger('test-svc', 'info', stream) };
}

describe('logger redaction', () => {
  it('removes payment codes, keys and signatures wherever they sit', () => {
    const { lines, logger } = capture();
    logger.info({ paymentCode: '281012020000000000001234', command: { paymentCode: '281012020000000000001234', amount: '1' }, req: { headers: { authorization: 'Bearer abc', signature: 'x' } }, privateKey: 'k' }, 'hello');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('281012020000000000001234');
    expect(text).not.toContain('Bearer abc');
    expect(lines[0]).toMatchObject({ service: 'test-svc', level: 'info', msg: 'hello', paymentCode: '[REDACTED]', command: { paymentCode: '[REDACTED]', amount: '1' } });
  });

  it('masks codes inside free text', () => {
    expect(maskCodesInText('{"paymentMethodId":"281012020000000000001234"}')).toBe('{"paymentMethodId":"281012**************1234"}');
    expect(maskCodesInText('amount 1250')).toBe('amount 1250');
  });
});
