import { INVALID_CODE_SCENARIO, scenarioOf } from './scenarios';

const code = (digits: string) => `28101202${'0'.repeat(14)}${digits}`;

describe('the scenario table (CONTRACTS.md §2)', () => {
  it('answers S at once for 00–79', () => {
    for (const digits of ['00', '01', '50', '79']) expect(scenarioOf(code(digits))).toEqual({ name: '00-79', records: 'SUCCESS' });
  });

  it.each([
    ['80', { records: 'PROCESSING', afterPin: 'SUCCESS', pendingCode: 'PAYMENT_IN_PROCESS' }],
    ['81', { records: 'PROCESSING', afterPin: 'FAIL', failure: { code: 'USER_PAYMENT_VERIFICATION_FAILED' } }],
    ['82', { records: 'PROCESSING', pendingCode: 'PAYMENT_IN_PROCESS' }],
    ['83', { records: 'SUCCESS', transport: 'HANG', notifyAfterHang: true }],
    ['84', { records: 'NOTHING', transport: 'HANG' }],
    ['85', { records: 'FAIL', failure: { code: 'USER_BALANCE_NOT_ENOUGH' } }],
    ['86', { records: 'FAIL', failure: { code: 'RISK_REJECT' } }],
    ['87', { records: 'FAIL', failure: { code: 'EXPIRED_CODE' } }],
    ['88', { records: 'SUCCESS', transport: 'HTTP_500', notifyAfterHang: true }],
    ['89', { records: 'PROCESSING', pendingCode: 'UNKNOWN_EXCEPTION', cancel: 'UNKNOWN_FOREVER' }],
    ['90', { records: 'PROCESSING', afterPin: 'SUCCESS', cancel: 'WINDOW_EXCEEDED' }],
    ['91', { records: 'SUCCESS', notifyBeforeAnswer: true }],
    ['92', { records: 'SUCCESS', notifyCopies: 3 }],
  ])('%s', (digits, expected) => {
    expect(scenarioOf(code(digits))).toMatchObject({ name: digits, ...expected });
  });

  it('reads only the last two digits, whatever the code length', () => {
    expect(scenarioOf(`2810120200000000085`).name).toBe('85');
    expect(scenarioOf(code('93')).name).toBe('00-79');
    expect(scenarioOf(code('99')).records).toBe('SUCCESS');
  });

  it('has a failure for codes that fail the format check', () => {
    expect(INVALID_CODE_SCENARIO).toMatchObject({ records: 'FAIL', failure: { code: 'INVALID_PAYMENT_CODE' } });
  });
});
