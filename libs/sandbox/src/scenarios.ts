/**
 * What the sandbox does with a pay request, chosen by the payment code's last two digits
 * (CONTRACTS.md §2). Pure data, so that the table can be read and tested on its own.
 */
export interface Failure {
  code: string;
  message: string;
}

export interface Scenario {
  /** the digits (or range) of the table, for the sandbox's own views */
  name: string;
  /** what pay records: the payment's first state, or nothing at all */
  records: 'SUCCESS' | 'PROCESSING' | 'FAIL' | 'NOTHING';
  /** the reason of a FAIL, recorded at once or after the PIN */
  failure?: Failure;
  /** a PROCESSING payment becomes this after the PIN delay */
  afterPin?: 'SUCCESS' | 'FAIL';
  /** the U answer while the payment is processing */
  pendingCode?: 'PAYMENT_IN_PROCESS' | 'UNKNOWN_EXCEPTION';
  /** how the pay answer misbehaves on the wire */
  transport?: 'HANG' | 'HTTP_500';
  /** how cancel misbehaves */
  cancel?: 'UNKNOWN_FOREVER' | 'WINDOW_EXCEEDED';
  /** notifyPayment deliveries of the final result (default 1) */
  notifyCopies?: number;
  /** the first notification attempt completes before the pay answer leaves */
  notifyBeforeAnswer?: boolean;
  /**
   * the notification waits for the hang (SANDBOX_HANG_MS) to end: when the pay answer is lost, the caller's
   * inquiry finds the payment first, as when Alipay's processing is slow
   */
  notifyAfterHang?: boolean;
}

export const FAILURES = {
  userDeclined: { code: 'USER_PAYMENT_VERIFICATION_FAILED', message: 'The user declined the payment in the wallet.' },
  balance: { code: 'USER_BALANCE_NOT_ENOUGH', message: 'The user balance is not enough for the payment.' },
  risk: { code: 'RISK_REJECT', message: 'The payment is rejected by risk control.' },
  expired: { code: 'EXPIRED_CODE', message: 'The payment code has expired.' },
  invalidCode: { code: 'INVALID_PAYMENT_CODE', message: 'The payment code is invalid.' },
  /** paymentExpiryTime passed before the payment succeeded (spec §4.1) */
  expiredPayment: { code: 'ORDER_IS_CLOSED', message: 'The payment expired before it succeeded.' },
} satisfies Record<string, Failure>;

const INSTANT_SUCCESS: Scenario = { name: '00-79', records: 'SUCCESS' };

const TABLE: Readonly<Record<string, Scenario>> = {
  '80': { name: '80', records: 'PROCESSING', afterPin: 'SUCCESS', pendingCode: 'PAYMENT_IN_PROCESS' },
  '81': { name: '81', records: 'PROCESSING', afterPin: 'FAIL', failure: FAILURES.userDeclined, pendingCode: 'PAYMENT_IN_PROCESS' },
  '82': { name: '82', records: 'PROCESSING', pendingCode: 'PAYMENT_IN_PROCESS' },
  '83': { name: '83', records: 'SUCCESS', transport: 'HANG', notifyAfterHang: true },
  '84': { name: '84', records: 'NOTHING', transport: 'HANG' },
  '85': { name: '85', records: 'FAIL', failure: FAILURES.balance },
  '86': { name: '86', records: 'FAIL', failure: FAILURES.risk },
  '87': { name: '87', records: 'FAIL', failure: FAILURES.expired },
  '88': { name: '88', records: 'SUCCESS', transport: 'HTTP_500', notifyAfterHang: true },
  '89': { name: '89', records: 'PROCESSING', pendingCode: 'UNKNOWN_EXCEPTION', cancel: 'UNKNOWN_FOREVER' },
  '90': { name: '90', records: 'PROCESSING', afterPin: 'SUCCESS', pendingCode: 'PAYMENT_IN_PROCESS', cancel: 'WINDOW_EXCEEDED' },
  '91': { name: '91', records: 'SUCCESS', notifyBeforeAnswer: true },
  '92': { name: '92', records: 'SUCCESS', notifyCopies: 3 },
};

/** A code that failed the format check. */
export const INVALID_CODE_SCENARIO: Scenario = { name: 'invalid-code', records: 'FAIL', failure: FAILURES.invalidCode };

/** The scenario of a code that passed the format check. */
export function scenarioOf(code: string): Scenario {
  return TABLE[code.slice(-2)] ?? INSTANT_SUCCESS;
}
