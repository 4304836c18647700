import { JsonHttp } from './http';
import type { PaymentRecord } from './load';
import { EXPECTED_BOOK, EXPECTED_STATUS } from './schedule';

const SANDBOX_STATUS: Record<string, string> = { SUCCEEDED: 'SUCCESS', FAILED: 'FAIL', CANCELLED: 'CANCELLED' };

/** One payment's line in the sandbox's books: its status there (`NOT_RECORDED` when no pay reached it) and the calls made. */
export interface Book {
  status?: string;
  calls?: { pay?: number };
}

/**
 * Compares what the POS was told with the sandbox's books. Lost: not final for the POS, unknown to the
 * sandbox, or money that disagrees (SUCCEEDED but not charged, or charged while the POS heard FAILED or
 * CANCELLED). Unexpected: the money agrees but the payment did not end as its scenario should (a pay that
 * never reached Alipay ends FAILED and uncharged), or the books name another final status.
 */
export function judge(r: Pick<PaymentRecord, 'status' | 'scenario'>, book: Book | undefined): { lost?: string; duplicated?: string; unexpected?: string } {
  if (!r.status) return { lost: `not final for the POS (sandbox: ${book?.status ?? 'unknown'})` };
  if (!book) return { lost: `${r.status} but the sandbox's books could not be read for it` };
  const pays = book.calls?.pay ?? 0;
  const duplicated = pays > 1 ? `${pays} pay calls` : undefined;
  const want = SANDBOX_STATUS[r.status];
  if (want && (r.status === 'SUCCEEDED') !== (book.status === 'SUCCESS')) return { duplicated, lost: `POS ${r.status}, sandbox ${book.status}` };
  if (r.status !== EXPECTED_STATUS[r.scenario]) return { duplicated, unexpected: `ended ${r.status} (sandbox ${book.status}), expected ${EXPECTED_STATUS[r.scenario]}` };
  if (book.status !== EXPECTED_BOOK[r.scenario]) return { duplicated, unexpected: `POS ${r.status}, sandbox ${book.status}` };
  return { duplicated };
}

/** answers the gateway gives before it writes anything: the payment was not taken, and the POS was told so */
const REFUSED_BEFORE_TAKEN: ReadonlySet<string> = new Set(['503 OVERLOADED', '503 IDEMPOTENCY_UNAVAILABLE']);

export interface Verification {
  checked: number;
  /** never final for the POS, unknown to the sandbox, or final with a status that disagrees with the sandbox's books */
  lost: number;
  /** never created because the gateway refused every attempt before taking it (503 OVERLOADED or IDEMPOTENCY_UNAVAILABLE): the POS knows, and nothing was charged */
  refused: number;
  /** more than one pay call reached the sandbox for a payment, or two payments for one order */
  duplicated: number;
  /** final, but not what the scenario should end in */
  unexpected: number;
  problems: string[];
}

/** Reads the sandbox's books for every payment: final, exactly one pay call, and the same outcome on both sides. */
export async function verify(sandbox: JsonHttp, records: PaymentRecord[], concurrency = 32): Promise<Verification> {
  const result: Verification = { checked: 0, lost: 0, refused: 0, duplicated: 0, unexpected: 0, problems: [] };
  const note = (problem: string) => {
    if (result.problems.length < 20) result.problems.push(problem);
  };
  const seen = new Map<string, string>();
  for (const r of records) {
    if (!r.paymentId) continue;
    const other = seen.get(r.merchantOrderId);
    if (other && other !== r.paymentId) {
      result.duplicated++;
      note(`${r.merchantOrderId}: two payments ${other} and ${r.paymentId}`);
    }
    seen.set(r.merchantOrderId, r.paymentId);
  }
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const r = records[next++];
      result.checked++;
      if (!r.paymentId && r.errors.length && r.errors.every((code) => REFUSED_BEFORE_TAKEN.has(code))) {
        result.refused++;
        continue;
      }
      if (!r.paymentId) {
        result.lost++;
        note(`${r.merchantOrderId} (${r.scenario}): no payment created (${r.errors.join(', ') || 'no answer'})`);
        continue;
      }
      const verdict = judge(r, await readBook(sandbox, r.paymentId));
      if (verdict.duplicated) {
        result.duplicated++;
        note(`${r.paymentId} (${r.scenario}): ${verdict.duplicated}`);
      }
      if (verdict.lost) {
        result.lost++;
        note(`${r.paymentId} (${r.scenario}): ${verdict.lost}`);
      } else if (verdict.unexpected) {
        result.unexpected++;
        note(`${r.paymentId} (${r.scenario}): ${verdict.unexpected}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

/**
 * The sandbox's line for one payment (it answers NOT_RECORDED for one it never saw), or undefined when it
 * could not be read. A lookup that fails (a connection the sandbox closed, a busy sandbox) is tried again,
 * so that it does not pass for a payment missing from its books.
 */
export async function readBook(sandbox: Pick<JsonHttp, 'request'>, paymentId: string, attempts = 3): Promise<Book | undefined> {
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const answer = await sandbox.request('GET', `/sandbox/payments/${encodeURIComponent(paymentId)}`);
      if (answer.status === 200) return answer.body as Book;
    } catch {
      // a network error: try again
    }
    if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}
