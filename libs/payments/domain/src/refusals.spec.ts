import {
  GIVEN,
  cancelResult,
  cancelS,
  cancelU,
  fired,
  inquirySuccess,
  payResult,
  posCancel,
  refundResult,
  requestPayment,
  requestRefund,
  run,
  type Step,
} from './testing/saga-test-kit';
import type { SagaInput } from './model';

/**
 * Refusals reach the POS (GET refund, payments.v1.events, merchant webhooks): their messages speak the POS API's
 * words, never the saga's internal phases.
 */
const INTERNAL_PHASES = ['NEW', 'CREATED', 'PAY_SENT', 'INQUIRING', 'CANCELLING', 'REVERSAL_CHECK', 'REFUNDING_REVERSAL'];

const cancelRefused: Step[] = [...GIVEN.cancelling, cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')];
const cancelNeverAnswered: Step[] = [...GIVEN.cancelling];
for (let attempt = 1; attempt <= 5; attempt++) cancelNeverAnswered.push(cancelU(attempt), fired('CANCEL_RETRY', attempt + 1));
cancelNeverAnswered.push(cancelU(6));

/** one "given" per phase the saga can be stored in */
const GIVENS: Record<string, Step[]> = {
  'not created': [],
  'pay sent': GIVEN.paySent,
  inquiring: GIVEN.inquiring,
  'cancel under way': GIVEN.cancelling,
  'void under way': [...GIVEN.succeeded, posCancel()],
  'cancel refused, inquiring': cancelRefused,
  'reversal refund under way': [...cancelRefused, inquirySuccess(2)],
  succeeded: GIVEN.succeeded,
  'succeeded, refunded in full': [...GIVEN.succeeded, requestRefund(1, '1250'), refundResult('ref_1', 1, 'S', 'SUCCESS')],
  failed: [...GIVEN.paySent, payResult('F', 'RISK_REJECT')],
  cancelled: [...GIVEN.cancelling, cancelS(1)],
  'needs review': cancelNeverAnswered,
};

const COMMANDS: Record<string, SagaInput> = {
  refund: requestRefund(9, '100'),
  'refund over the amount paid': requestRefund(9, '99999'),
  'refund in another currency': requestRefund(9, '100', { currency: 'USD' }),
  'refund of zero': requestRefund(9, '0'),
  'refund reusing an id': requestRefund(1, '5'),
  cancel: posCancel(),
  'payment of another amount': requestPayment({ amount: { currency: 'HKD', value: '1' } }),
};

const refusals = Object.entries(GIVENS).flatMap(([given, steps]) =>
  Object.entries(COMMANDS).flatMap(([command, input]) =>
    run([...steps, input]).steps.at(-1)!.outputs.flatMap((o) => (o.kind === 'Reject' ? [{ case: `${given}: ${command}`, code: o.code, message: o.message }] : [])),
  ),
);

describe('payment saga: refusal messages speak the POS API', () => {
  it('covers every phase a saga is stored in (CREATED only lasts within one step)', () => {
    const phases = new Set(Object.values(GIVENS).map((steps) => run(steps).state.status));
    expect(phases).toEqual(new Set(['NEW', 'PAY_SENT', 'INQUIRING', 'CANCELLING', 'REVERSAL_CHECK', 'REFUNDING_REVERSAL', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'NEEDS_REVIEW']));
  });

  it('covers every refusal code', () => {
    expect(new Set(refusals.map((r) => r.code))).toEqual(
      new Set(['PAYMENT_NOT_FOUND', 'IDEMPOTENCY_CONFLICT', 'PAYMENT_NOT_CANCELLABLE', 'PAYMENT_NOT_REFUNDABLE', 'REFUND_EXCEEDS_PAID', 'REFUND_CURRENCY_MISMATCH', 'REFUND_AMOUNT_INVALID']),
    );
  });

  it('no refusal names an internal phase of the saga', () => {
    const naming = refusals.filter((r) => INTERNAL_PHASES.some((phase) => new RegExp(`\\b${phase}\\b`).test(r.message)));
    expect(naming).toEqual([]);
  });

  it.each([
    ['pay sent', 'the payment is PROCESSING'],
    ['cancel under way', 'the payment is PROCESSING and a cancel is under way'],
    ['void under way', 'the payment is SUCCEEDED and a cancel is under way'],
    ['cancel refused, inquiring', 'the payment is PROCESSING and a cancel is under way'],
    ['reversal refund under way', 'the payment is PROCESSING and a cancel is under way'],
    ['cancelled', 'the payment is CANCELLED'],
    ['needs review', 'the payment is NEEDS_REVIEW'],
  ])('a refund while %s says: %s', (given, standing) => {
    const refused = refusals.find((r) => r.case === `${given}: refund`);
    expect(refused).toEqual({ case: `${given}: refund`, code: 'PAYMENT_NOT_REFUNDABLE', message: `only a SUCCEEDED payment can be refunded: ${standing}` });
  });
});
