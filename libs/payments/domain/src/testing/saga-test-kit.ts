/**
 * Given/When/Then support for the saga specs: input builders, a runner that checks the invariants every
 * step must keep, and a compact text form of outputs so that tables read like the sequences in spec §10.5.
 */
import { alipayCommandsV1, paymentEventsV1, type Money, type PaymentViewV1 } from '@upm/contracts';
import { DEFAULT_SAGA_CONFIG, type SagaConfig } from '../config';
import { initialState } from '../evolve';
import type { SagaContext, SagaInput, SagaOutput, SagaState, SagaStatus, SagaStep, TimerName } from '../model';
import { handle } from '../payment-saga.workflow';

export const T0 = Date.parse('2026-11-27T04:06:00.000Z');
export const PAYMENT_ID = 'pay_01JDZ8X3';
export const ALIPAY_PAYMENT_ID = '202611271940108001001881I0204295953';
export const AMOUNT: Money = { currency: 'HKD', value: '1250' };
export const CONFIG: SagaConfig = DEFAULT_SAGA_CONFIG;
export const DEADLINE = CONFIG.httpTimeoutMs + CONFIG.resultGraceMs;

const merchant = {
  merchantId: 'mer_7KQ2',
  merchantName: 'Harbour Coffee',
  merchantMcc: '5812',
  storeId: 'sto_A001',
  storeName: 'Harbour Coffee Central',
  storeMcc: '5812',
  terminalId: 'ter_A001_01',
};
const ref = { paymentId: PAYMENT_ID, paymentRequestId: PAYMENT_ID };

// ─── Inputs ─────────────────────────────────────────────────────────────────────────────────────────

export const requestPayment = (over: { merchantOrderId?: string; amount?: Money } = {}): SagaInput => ({
  type: 'RequestPayment',
  data: {
    paymentId: PAYMENT_ID,
    merchantOrderId: over.merchantOrderId ?? 'POS-0001-20261127-000123',
    amount: over.amount ?? AMOUNT,
    paymentCode: '281012020000000000000000',
    description: '2 x coffee',
    merchant,
    requestedAt: new Date(T0).toISOString(),
  },
});

export const posCancel = (reason: 'POS_ABORT' | 'OPERATOR' = 'POS_ABORT'): SagaInput => ({
  type: 'CancelPayment',
  data: { paymentId: PAYMENT_ID, reason, requestedAt: new Date(T0).toISOString() },
});

const paid = { alipayPaymentId: ALIPAY_PAYMENT_ID, paymentTime: '2026-11-27T12:06:02+08:00', walletBrandName: 'ALIPAYHK' };

export const payResult = (outcome: 'S' | 'F' | 'U', resultCode: string, extra: Record<string, string> = {}): SagaInput => ({
  type: 'PayResult',
  data: { ...ref, attempt: 0, outcome, resultCode, ...(outcome === 'S' ? paid : {}), ...extra },
});
export const payS = () => payResult('S', 'SUCCESS');
export const payU = () => payResult('U', 'PAYMENT_IN_PROCESS', { alipayPaymentId: ALIPAY_PAYMENT_ID });
export const payTimeout = () => payResult('U', 'TIMEOUT');

type InquiryStatus = 'SUCCESS' | 'FAIL' | 'PROCESSING' | 'CANCELLED';
export const inquiry = (attempt: number, outcome: 'S' | 'F' | 'U', resultCode: string, paymentStatus?: InquiryStatus, extra: Record<string, string> = {}): SagaInput => ({
  type: 'InquiryResult',
  data: {
    ...ref,
    attempt,
    outcome,
    resultCode,
    ...(paymentStatus ? { paymentStatus } : {}),
    ...(paymentStatus === 'SUCCESS' ? paid : {}),
    ...extra,
  },
});
export const inquirySuccess = (attempt: number) => inquiry(attempt, 'S', 'SUCCESS', 'SUCCESS');
export const inquiryProcessing = (attempt: number) => inquiry(attempt, 'S', 'SUCCESS', 'PROCESSING');
export const inquiryFail = (attempt: number, code = 'USER_PAYMENT_VERIFICATION_FAILED') => inquiry(attempt, 'S', 'SUCCESS', 'FAIL', { paymentResultCode: code });
export const inquiryNotFound = (attempt: number) => inquiry(attempt, 'F', 'ORDER_NOT_EXIST');
export const inquiryU = (attempt: number) => inquiry(attempt, 'U', 'UNKNOWN_EXCEPTION');

export const cancelResult = (attempt: number, outcome: 'S' | 'F' | 'U', resultCode: string): SagaInput => ({
  type: 'CancelResult',
  data: { ...ref, attempt, outcome, resultCode, ...(outcome === 'S' ? { cancelTime: '2026-11-27T12:07:00+08:00' } : {}) },
});
export const cancelS = (attempt: number) => cancelResult(attempt, 'S', 'SUCCESS');
export const cancelU = (attempt: number) => cancelResult(attempt, 'U', 'UNKNOWN_EXCEPTION');

/** A notifyPayment as the connector routes it: S, or F with a plain failure (the shopper declined in the wallet). */
export const notified = (outcome: 'S' | 'F' = 'S', resultCode = outcome === 'S' ? 'SUCCESS' : 'USER_PAYMENT_VERIFICATION_FAILED'): SagaInput => ({
  type: 'PaymentNotified',
  data: { ...ref, outcome, resultCode, amount: AMOUNT, ...(outcome === 'S' ? paid : {}) },
});
/** A notifyPayment saying Alipay closed the payment (spec §9: Alipay+ notifies a closed or cancelled payment so). */
export const notifiedClosed = (resultCode: 'ORDER_IS_CLOSED' | 'ORDER_IS_CANCELED' = 'ORDER_IS_CLOSED'): SagaInput => notified('F', resultCode);

/** The answer with the amount Alipay reports for the payment (its paymentAmount), as a pay, inquiry or notification carries it. */
export const charging = (answer: SagaInput, amount: Money): SagaInput => ({ ...answer, data: { ...answer.data, amount } }) as SagaInput;

/** Merchant refund `R-<n>` with refundId `ref_<n>`. */
export const requestRefund = (n: number, value: string, over: { refundId?: string; currency?: string } = {}): SagaInput => ({
  type: 'RequestRefund',
  data: {
    paymentId: PAYMENT_ID,
    refundId: over.refundId ?? `ref_${n}`,
    refundRequestId: `R-${n}`,
    amount: { currency: over.currency ?? AMOUNT.currency, value },
    requestedAt: new Date(T0).toISOString(),
  },
});

export const refundResult = (refundId: string, attempt: number, outcome: 'S' | 'F' | 'U', resultCode: string): SagaInput => ({
  type: 'RefundResult',
  data: {
    ...ref,
    attempt,
    outcome,
    resultCode,
    refundId,
    refundRequestId: refundRequestIdOf(refundId),
    ...(outcome === 'S' ? { alipayRefundId: `alipay_${refundId}`, refundTime: '2026-11-27T13:00:00+08:00' } : {}),
  },
});

export const inquireRefundResult = (refundId: string, attempt: number, outcome: 'S' | 'F' | 'U', resultCode: string, refundStatus?: 'SUCCESS' | 'FAIL' | 'PROCESSING'): SagaInput => ({
  type: 'InquireRefundResult',
  data: {
    ...ref,
    attempt,
    outcome,
    resultCode,
    refundId,
    refundRequestId: refundRequestIdOf(refundId),
    ...(refundStatus ? { refundStatus } : {}),
    ...(refundStatus === 'SUCCESS' ? { alipayRefundId: `alipay_${refundId}` } : {}),
  },
});

/** A notifyRefund as the connector routes it; `refundId` (ours) is absent from one routed before it carried it. */
export const refundNotified = (refundRequestId: string, outcome: 'S' | 'F', value: string, refundId?: string): SagaInput => ({
  type: 'RefundNotified',
  data: { paymentId: PAYMENT_ID, ...(refundId ? { refundId } : {}), refundRequestId, outcome, resultCode: outcome === 'S' ? 'SUCCESS' : 'REFUND_FAILED', amount: { currency: 'HKD', value } },
});

export const fired = (timer: TimerName, attempt: number): SagaInput => ({ type: 'TimerFired', data: { timer, attempt } });

/** settlement's verdict on the payment from Alipay's report files; `amount` is what the report charged (0 unless CHARGED). */
export const reviewResolved = (resolution: 'CHARGED' | 'REVERSED' | 'NOT_CHARGED', amount: Money = resolution === 'CHARGED' ? AMOUNT : { currency: AMOUNT.currency, value: '0' }): SagaInput => ({
  type: 'PaymentReviewResolved',
  data: {
    paymentId: PAYMENT_ID,
    merchantId: merchant.merchantId,
    resolution,
    amount,
    evidence: 'from the transaction reports of 2026-11-27 and 2026-11-28',
    reportFile: '1022188000000000001/20261128/transactionItems_20261128_000.csv',
  },
});

/** `ref_3` → `R-3`; any other id (the reversal refund) is its own request id. */
function refundRequestIdOf(refundId: string): string {
  const match = /^ref_(\d+)$/.exec(refundId);
  return match ? `R-${match[1]}` : refundId;
}

// ─── Running ────────────────────────────────────────────────────────────────────────────────────────

/** An input, handled `atMs` after T0 (default: one second after the previous step). */
export type Step = SagaInput | { input: SagaInput; atMs: number };

/** every cancel after `given` answered U, the last one too: NEEDS_REVIEW (CANCEL_UNKNOWN) */
export const cancelNeverAnswered = (given: Step[]): Step[] => {
  const steps: Step[] = [...given];
  for (let attempt = 1; attempt <= 5; attempt++) steps.push(cancelU(attempt), fired('CANCEL_RETRY', attempt + 1));
  return [...steps, cancelU(6)];
};

export interface Run {
  state: SagaState;
  steps: (SagaStep & { now: number })[];
}

export function run(steps: readonly Step[], config: SagaConfig = CONFIG, from: Run = { state: initialState(), steps: [] }): Run {
  let { state } = from;
  const done = [...from.steps];
  for (const step of steps) {
    const { input, atMs } = 'input' in step ? step : { input: step, atMs: (done.at(-1)?.now ?? T0 - 1000) - T0 + 1000 };
    const now = T0 + atMs;
    const ctx: SagaContext = { now: new Date(now), config };
    const result = handle(state, input, ctx);
    checkInvariants(state, input, ctx, result);
    done.push({ ...result, now });
    state = result.state;
  }
  return { state, steps: done };
}

/** Given these inputs, when this one arrives: the outputs, in the compact text form, and the state after. */
export function whenAfter(given: readonly Step[], when: Step, config: SagaConfig = CONFIG): { outputs: string[]; state: SagaState; step: SagaStep } {
  const after = run([when], config, run(given, config));
  const step = after.steps.at(-1)!;
  return { outputs: describeOutputs(step.outputs, step.now), state: after.state, step };
}

/** One row of a Given/When/Then table: after `given`, `when` gives the outputs `then` and leaves `status`. */
export interface SagaRow {
  name: string;
  given: Step[];
  when: Step;
  then: string[];
  status?: SagaStatus;
}

/** One test per row; a row that names no status must leave the saga in `defaultStatus`. */
export function checkRows(rows: SagaRow[], defaultStatus?: SagaStatus): void {
  it.each(rows)('$name', ({ given, when, then, status }) => {
    const { outputs, state } = whenAfter(given, when);
    expect(outputs).toEqual(then);
    expect(state.status).toBe(status ?? defaultStatus);
  });
}

/** Properties every single step keeps, whatever the scenario. */
function checkInvariants(before: SagaState, input: SagaInput, ctx: SagaContext, step: SagaStep): void {
  // Deterministic: the same state and input give the same result (no clock, no randomness inside).
  expectEqual(handle(before, input, ctx), step, 'handle is not deterministic');
  // The state survives the runner's jsonb column unchanged.
  expectEqual(JSON.parse(JSON.stringify(step.state)), step.state, 'state does not survive a JSON round trip');
  // Published events carry consecutive sequences continuing the stored one.
  const sequences = step.outputs.flatMap((o) => (o.kind === 'PublishPaymentEvent' ? [o.event.data.payment.sequence] : []));
  const first = before.status === 'NEW' ? 0 : before.sequence + 1;
  expectEqual(sequences, sequences.map((_, i) => first + i), 'published sequences are not consecutive');
  // No change, no event: a step without published events leaves the view as it was.
  if (sequences.length === 0 && before.status !== 'NEW' && step.state.status !== 'NEW') {
    expectEqual(step.state.sequence, before.sequence, 'sequence moved without a published event');
  }
  // A rejection is all there is.
  if (step.outputs.some((o) => o.kind === 'Reject')) expectEqual(step.state, before, 'a rejected command changed the state');
  // Every message honours its published contract.
  for (const output of step.outputs) {
    if (output.kind === 'SendAlipayCommand') alipayCommandsV1[output.command.type].parse(output.command.data);
    if (output.kind === 'PublishPaymentEvent') paymentEventsV1[output.event.type].parse(output.event.data);
  }
  // At most one refund talks to Alipay at a time.
  if (step.state.status !== 'NEW' && step.state.refunds.filter((r) => r.status === 'IN_FLIGHT').length > 1) throw new Error('two refunds in flight');
}

function expectEqual(actual: unknown, expected: unknown, message: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${message}:\n${JSON.stringify(actual)}\n!==\n${JSON.stringify(expected)}`);
}

// ─── Describing outputs ─────────────────────────────────────────────────────────────────────────────

/**
 * `send InquirePayment#2`, `publish PaymentSucceeded SUCCEEDED #1`, `publish RefundSucceeded R-1 SUCCEEDED #4`,
 * `timer INQUIRY#3 +3000`, `cancel timer INQUIRY`, `reject REFUND_EXCEEDS_PAID`.
 */
export function describeOutputs(outputs: readonly SagaOutput[], now: number): string[] {
  return outputs.map((output) => {
    switch (output.kind) {
      case 'SendAlipayCommand':
        return `send ${output.command.type}#${output.command.data.attempt}`;
      case 'PublishPaymentEvent': {
        const { type, data } = output.event;
        const refund = 'refund' in data && data.refund ? ` ${data.refund.refundRequestId} ${data.refund.status}` : '';
        return `publish ${type}${refund} ${data.payment.status} #${data.payment.sequence}`;
      }
      case 'ScheduleTimer':
        return `timer ${output.timer.name}#${output.timer.attempt} +${Date.parse(output.timer.dueAt) - now}`;
      case 'CancelTimers':
        return `cancel timer ${output.names.join(',')}`;
      case 'Reject':
        return `reject ${output.code}`;
    }
  });
}

export function statusOf(state: SagaState): SagaStatus {
  return state.status;
}

/** The view carried by the last published event of a run. */
export function lastView(result: Run): PaymentViewV1 {
  const views = result.steps.flatMap((s) => s.outputs.flatMap((o) => (o.kind === 'PublishPaymentEvent' ? [o.event.data.payment] : [])));
  const view = views.at(-1);
  if (!view) throw new Error('nothing was published');
  return view;
}

/** Every output of a run, as text, one list per step. */
export function transcript(result: Run): string[][] {
  return result.steps.map((s) => describeOutputs(s.outputs, s.now));
}

// ─── Stories and common "given" prefixes ────────────────────────────────────────────────────────────

/** One beat of a story: when this input arrives, then exactly these outputs. */
export type Beat = readonly [Step, readonly string[]];

/** A sequence of Given/When/Then: each beat's "given" is every beat before it. */
export function story(beats: readonly Beat[], config: SagaConfig = CONFIG): Run {
  let result: Run = { state: initialState(), steps: [] };
  beats.forEach(([step, expected], index) => {
    result = run([step], config, result);
    const last = result.steps.at(-1)!;
    const label = `beat ${index + 1}: ${'input' in step ? step.input.type : step.type}`;
    expect({ label, outputs: describeOutputs(last.outputs, last.now) }).toEqual({ label, outputs: expected });
  });
  return result;
}

/** Inquiries `from`..`to` answered (not final) and the next one sent when its timer fires. */
export function pollBeats(from: number, to: number, answer: (attempt: number) => SagaInput, config: SagaConfig = CONFIG): Beat[] {
  const beats: Beat[] = [];
  for (let attempt = from; attempt <= to; attempt++) {
    beats.push([answer(attempt), [`timer INQUIRY#${attempt + 1} +${config.inquiryIntervalMs}`]]);
    beats.push([fired('INQUIRY', attempt + 1), [`send InquirePayment#${attempt + 1}`, `timer INQUIRY#${attempt + 2} +${config.httpTimeoutMs + config.resultGraceMs}`]]);
  }
  return beats;
}

export const GIVEN = {
  paySent: [requestPayment()] as Step[],
  /** pay answered U: inquiry #1 is out */
  inquiring: [requestPayment(), payU()] as Step[],
  succeeded: [requestPayment(), payS()] as Step[],
  /** the cashier aborted while the wallet was waiting: cancel #1 is out */
  cancelling: [requestPayment(), payU(), posCancel()] as Step[],
  /** every inquiry answered by `answer`, the last one too: cancel #1 is out, reason UNCONFIRMED */
  inquiriesExhausted(answer: (attempt: number) => SagaInput = inquiryProcessing, config: SagaConfig = CONFIG): Step[] {
    const steps: Step[] = [requestPayment(), payU()];
    for (let attempt = 1; attempt < config.maxInquiries; attempt++) steps.push(answer(attempt), fired('INQUIRY', attempt + 1));
    steps.push(answer(config.maxInquiries));
    return steps;
  },
};
