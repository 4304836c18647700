import { Writable } from 'node:stream';
import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
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

describe('logged errors', () => {
  const code = '281012020000000000001234';
  const pay = JSON.stringify({ id: 'e1', type: 'Pay', data: { paymentId: 'pay_1', paymentCode: code } });

  /** what PostgreSQL answers when a row breaks a constraint: `detail` quotes the whole row */
  function checkViolation(): DatabaseError {
    return Object.assign(new DatabaseError('new row for relation "outbox" violates check constraint "outbox_type_check"', 0, 'error'), {
      code: '23514', severity: 'ERROR', table: 'outbox', constraint: 'outbox_type_check', detail: `Failing row contains (e1, alipay.v1.commands, pay_1, Pay, ${pay}, {}).`,
    });
  }

  it('keep no value of a failed statement, whoever logs them and however (the consumer batch whose outbox insert fails)', () => {
    const { lines, logger } = capture();
    const failed = new QueryFailedError('INSERT INTO outbox (id, topic, key, type, payload, headers) VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb)', ['e1', 'alipay.v1.commands', 'pay_1', 'Pay', pay, '{}'], checkViolation());
    logger.warn({ err: failed, partition: 0 }, 'batch failed');
    logger.error(failed, 'batch failed');
    expect(JSON.stringify(lines)).not.toContain(code);
    for (const line of lines) {
      expect(line.err).toEqual({
        type: 'QueryFailedError', message: 'new row for relation "outbox" violates check constraint "outbox_type_check"', stack: expect.any(String),
        code: '23514', severity: 'ERROR', table: 'outbox', constraint: 'outbox_type_check', length: 0, query: expect.stringContaining('INSERT INTO outbox'),
      });
    }
    expect(failed.parameters).toContain(pay); // the error itself is left as it was
  });

  it('keep no value of a failed statement when the driver error comes alone or inside another error', () => {
    const { lines, logger } = capture();
    const invalidJson = Object.assign(new DatabaseError('invalid input syntax for type json', 0, 'error'), { code: '22P02', detail: 'Token "x" is invalid.', where: `JSON data, line 1: ${pay}x` });
    logger.error({ err: checkViolation() }, 'relay pass failed');
    logger.error({ err: Object.assign(new Error('batch failed'), { failure: invalidJson }) }, 'wrapped');
    logger.error({ err: new AggregateError([checkViolation(), invalidJson], 'both failed') }, 'aggregate');
    expect(JSON.stringify(lines)).not.toContain(code);
    expect(lines.map((line) => line.err)).toMatchObject([{ code: '23514', constraint: 'outbox_type_check', table: 'outbox' }, { failure: { code: '22P02' } }, { aggregateErrors: [{ code: '23514' }, { code: '22P02' }] }]);
  });
});
