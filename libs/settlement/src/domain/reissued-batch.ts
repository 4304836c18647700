import type { SettlementBatchReport } from './report-files';

/** The stable code finance and its tools find a re-issued settlement batch by: the discrepancy's `actual.code`, the rejected file's reason. */
export const BATCH_REISSUED = 'SETTLEMENT.BATCH_REISSUED';

/** An item of a batch as it was settled: signed minor units in the settlement currency. */
export interface SettledItem {
  kind: string;
  transactionRequestId: string;
  amount: bigint;
  fee: bigint;
  settlementAmount: bigint;
}

/** A settled batch as the ledger holds it. */
export interface SettledBatch {
  items: readonly SettledItem[];
  fees: bigint;
  net: bigint;
}

/** What a later file of a settled batch says differently: the items it adds, changes or drops, and its totals. */
export interface BatchReissue {
  added: string[];
  changed: string[];
  dropped: string[];
  settled: { count: number; fees: bigint; net: bigint };
  reissued: { count: number; fees: bigint; net: bigint };
}

const keyOf = (item: { kind: string; transactionRequestId: string }) => `${item.kind}:${item.transactionRequestId}`;

/**
 * A second file of a batch already settled (a fuller file of the same day and batch, say) is not booked over the
 * first: the batch was announced once (`SettlementBatchSettled`, whose consumers act on its totals once per batch),
 * and its payout posted. Answers what the later file says differently, or undefined when it says the same (a copy).
 */
export function batchReissue(settled: SettledBatch, later: SettlementBatchReport): BatchReissue | undefined {
  const before = new Map(settled.items.map((item) => [keyOf(item), item]));
  const after = new Map(later.items.map((item) => [keyOf({ kind: item.type, transactionRequestId: item.transactionRequestId }), item]));
  const added: string[] = [];
  const changed: string[] = [];
  for (const [key, item] of after) {
    const was = before.get(key);
    if (!was) added.push(key);
    else if (was.amount !== item.amount || was.fee !== item.fee || was.settlementAmount !== item.settlementAmount) changed.push(key);
  }
  const dropped = [...before.keys()].filter((key) => !after.has(key));
  const reissued = { count: later.items.length + later.unsupportedItems.length, fees: later.fees, net: later.net };
  const same = !added.length && !changed.length && !dropped.length && reissued.fees === settled.fees && reissued.net === settled.net;
  return same ? undefined : { added, changed, dropped, settled: { count: settled.items.length, fees: settled.fees, net: settled.net }, reissued };
}
