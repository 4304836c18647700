import { createHash } from 'node:crypto';
import { type CsvRow, currencyExponent, fromMajorUnits, isMinorUnits, parseCsvRows } from '@upm/contracts';

/**
 * Alipay's report files (spec §13): UTF-8 CSV, a header line, one line per record, and `<END>` as the last
 * line. Amounts are major units with the currency's exponent; every amount is money to the merchant, so
 * PAYMENT rows are positive and REFUND / CANCEL rows negative. Anything off rejects the whole file with the
 * reason; nothing of a rejected file is applied.
 */
export type ReportKind = 'transactionItems' | 'settlementItems' | 'settlementSummary';
export type TransactionType = 'PAYMENT' | 'REFUND' | 'CANCEL';

export class ReportRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportRejected';
  }
}

/** A batch whose items files hold fewer items than its summary counts: the rest may still be on their way. */
export class BatchIncomplete extends ReportRejected {
  constructor(message: string) {
    super(message);
    this.name = 'BatchIncomplete';
  }
}

export interface ReportFileName {
  kind: ReportKind;
  /** yyyy-mm-dd, for transaction files */
  day?: string;
  currency?: string;
  batchId?: string;
  seq: string;
}

/**
 * transactionItems_<yyyymmdd>_<seq>.csv, settlementItems_<CCY>_<batchId>_<seq>.csv, settlementSummary_[<psp>_]<CCY>_<batchId>_<seq>.csv.
 * A transaction file of a day the calendar lacks (`20260230`) is none of Alipay's.
 */
export function parseReportFileName(name: string): ReportFileName | undefined {
  let m = /^transactionItems_(\d{4})(\d{2})(\d{2})_(\d{3})\.csv$/.exec(name);
  if (m) {
    const day = `${m[1]}-${m[2]}-${m[3]}`;
    return isCalendarDay(day) ? { kind: 'transactionItems', day, seq: m[4] } : undefined;
  }
  m = /^settlementItems_([A-Z]{3})_([A-Za-z0-9]+)_(\d{3})\.csv$/.exec(name);
  if (m) return { kind: 'settlementItems', currency: m[1], batchId: m[2], seq: m[3] };
  // a wallet's name may hold underscores (ALIPAY_HK); the currency, batch id and seq are read from the right
  m = /^settlementSummary_(?:[A-Za-z0-9_]+_)?([A-Z]{3})_([A-Za-z0-9]+)_(\d{3})\.csv$/.exec(name);
  if (m) return { kind: 'settlementSummary', currency: m[1], batchId: m[2], seq: m[3] };
  return undefined;
}

export interface TransactionRow {
  line: number;
  customerId: string;
  type: TransactionType;
  transactionId: string;
  originalTransactionId: string;
  transactionRequestId: string;
  originalTransactionRequestId: string;
  referenceMerchantId: string;
  referenceTransactionId: string;
  paymentTime: string;
  currency: string;
  /** signed minor units */
  amount: bigint;
}

export interface SettlementItemRow extends TransactionRow {
  settlementBatchId: string;
  settlementTime: string;
  settlementCurrency: string;
  settlementAmount: bigint;
  feeCurrency: string;
  /** signed minor units: negative when charged, positive when given back */
  fee: bigint;
  quoteCurrencyPair: string;
  quotePrice: string;
}

/**
 * A transaction-details row of a type settlement does not book (spec §13.2 lists REFUND_REVERSAL, PAYMENT_REVERSAL
 * and others beside PAYMENT, REFUND and CANCEL): it holds up none of the file's other rows, and finance sees it
 * with the fields the file gives it.
 */
export interface UnsupportedRow {
  line: number;
  /** its transactionType as the file spells it */
  type: string;
  /** Alipay's transactionId, or its transactionRequestId when that is empty, within an event id's length (`boundedName`) */
  id: string;
  /** its originalTransactionRequestId, the payment it is about, unless empty or too long to be one of ours */
  paymentId: string | null;
  /** its referenceMerchantId, unless empty or too long to be one of ours */
  merchantId: string | null;
  /** its non-empty fields, each value within `MAX_FIELD_LENGTH` (`boundedName`) */
  fields: Record<string, string>;
}

/** The rows of a transaction-details file: those settlement matches, and those of a type it does not. */
export interface TransactionItems {
  rows: TransactionRow[];
  unsupported: UnsupportedRow[];
}

/** A settlement item of a type settlement does not book, what it settled, and which items file holds it. */
export type UnsupportedItem = UnsupportedRow & { part: number; settlementAmount: bigint; fee: bigint };

/** A settlement item and which of the batch's items files (`_000` is 0) holds it. */
export type BatchItem = SettlementItemRow & { part: number };

export interface SummaryLine {
  line: number;
  customerId: string;
  summaryType: string;
  count: number;
  settlementCurrency: string;
  settlementAmount: bigint;
  fee: bigint;
  settlementTime: string;
}

export interface SettlementBatchReport {
  batchId: string;
  customerId: string;
  currency: string;
  settlementTime: string;
  items: BatchItem[];
  /** items of a type settlement does not book: counted in the summary, not posted nor paid out by the ledger */
  unsupportedItems: UnsupportedItem[];
  summary: SummaryLine[];
  /** the summary's lines of a type no item has (SETTLEMENT_FEE, RESERVE_*…): the TOTAL counts them beside the items */
  otherLines: SummaryLine[];
  /** signed minor units in the settlement currency: net = gross + fees, fees negative when charged */
  gross: bigint;
  fees: bigint;
  net: bigint;
  fx: { quoteCurrencyPair: string; quotePrice: string } | null;
}

const TRANSACTION_TYPES: readonly string[] = ['PAYMENT', 'REFUND', 'CANCEL'];
const TRANSACTION_COLUMNS = [
  'customerId', 'transactionType', 'transactionId', 'originalTransactionId', 'transactionRequestId', 'originalTransactionRequestId',
  'referenceMerchantId', 'referenceTransactionId', 'paymentTime', 'transactionAmountValue', 'transactionCurrency',
];
const SETTLEMENT_ITEM_COLUMNS = [
  ...TRANSACTION_COLUMNS, 'settlementBatchId', 'settlementTime', 'settlementAmountValue', 'settlementCurrency', 'feeAmountValue', 'feeCurrency',
  'quoteCurrencyPair', 'quotePrice',
];
const SUMMARY_COLUMNS = ['settlementBatchId', 'customerId', 'summaryType', 'settlementTime', 'count', 'settlementAmountValue', 'settlementCurrency', 'feeAmountValue', 'feeCurrency'];

/** The records of a report file as objects, after checking the trailer, the header and every row's width. */
function records(text: string, required: readonly string[]): Array<{ line: number; fields: Record<string, string> }> {
  let rows: CsvRow[];
  try {
    rows = parseCsvRows(text);
  } catch (error) {
    throw new ReportRejected(`not valid CSV: ${(error as Error).message}`);
  }
  if (!rows.length) throw new ReportRejected('empty file');
  const last = rows[rows.length - 1].fields;
  if (last.length !== 1 || last[0].trim() !== '<END>') throw new ReportRejected('no <END> trailer: the file is incomplete');
  const [first, ...data] = rows.slice(0, -1);
  if (!first) throw new ReportRejected('no header line');
  const header = first.fields;
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length) throw new ReportRejected(`missing columns: ${missing.join(', ')}`);
  // each record's line is the file line it starts on, as an editor shows it
  return data.map(({ line, fields: row }) => {
    if (row.length !== header.length) throw new ReportRejected(`line ${line}: ${row.length} fields, the header has ${header.length}`);
    return { line, fields: Object.fromEntries(header.map((name, j) => [name, row[j]])) };
  });
}

/**
 * A signed amount in minor units, at most 16 digits of them as Amount.value (spec §3.1): more is no amount Alipay
 * takes, and beyond a PostgreSQL bigint it could not be stored at all.
 */
function amount(value: string, currency: string, line: number, column: string): bigint {
  if (currencyExponent(currency) === undefined) throw new ReportRejected(`line ${line}: unsupported currency "${currency}" in ${column}`);
  let minor: bigint;
  try {
    minor = fromMajorUnits(value, currency);
  } catch (error) {
    throw new ReportRejected(`line ${line}: ${column} ${(error as Error).message}`);
  }
  if (!isMinorUnits(magnitude(minor).toString())) throw new ReportRejected(`line ${line}: ${column} "${value}" ${currency} is more than 16 digits in minor units`);
  return minor;
}

const magnitude = (value: bigint) => (value < 0n ? -value : value);

/** The most a PostgreSQL bigint holds, and so any sum of a batch's amounts the ledger keeps (a merchant's payout, a type's lines). */
const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * Every sum of some of a batch's amounts is within a bigint when their magnitudes together are: each amount fits,
 * but many of them, payments and their cancels netting to nothing in the TOTAL, could sum beyond it for one merchant.
 */
function withinBigint(what: string, values: readonly bigint[]): void {
  const total = values.reduce((sum, value) => sum + magnitude(value), 0n);
  if (total > MAX_BIGINT) throw new ReportRejected(`the batch's ${what} add up, without their signs, to ${total} minor units: beyond ${MAX_BIGINT}, the most a sum of them can be kept as`);
}

function required(fields: Record<string, string>, column: string, line: number): string {
  const value = fields[column]?.trim() ?? '';
  if (!value) throw new ReportRejected(`line ${line}: ${column} is empty`);
  return value;
}

/** ISO-8601 as Alipay writes it: a date, a time and an offset (`2026-11-27T12:06:02+08:00`). */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * A time column that must be one: the business day of what it dates is read from it. Only ISO-8601 with an
 * offset is: Date.parse would read `12` as a day of 2001, a time without offset in the server's time zone, and
 * roll a day the calendar lacks over into the next month.
 */
function time(fields: Record<string, string>, column: string, line: number, where = 'line'): string {
  const value = required(fields, column, line);
  const m = ISO_TIME.exec(value);
  if (!m || !isCalendarDay(m[1]) || Number.isNaN(Date.parse(value))) throw new ReportRejected(`${where} ${line}: ${column} "${value}" is not a time`);
  return value;
}

function transactionRow(line: number, f: Record<string, string>): TransactionRow {
  const type = required(f, 'transactionType', line);
  if (!TRANSACTION_TYPES.includes(type)) throw new ReportRejected(`line ${line}: unknown transactionType "${type}"`);
  const currency = required(f, 'transactionCurrency', line);
  const row: TransactionRow = {
    line,
    customerId: required(f, 'customerId', line),
    type: type as TransactionType,
    transactionId: required(f, 'transactionId', line),
    originalTransactionId: f.originalTransactionId.trim(),
    transactionRequestId: required(f, 'transactionRequestId', line),
    originalTransactionRequestId: f.originalTransactionRequestId.trim(),
    referenceMerchantId: f.referenceMerchantId.trim(),
    referenceTransactionId: f.referenceTransactionId.trim(),
    paymentTime: time(f, 'paymentTime', line),
    currency,
    amount: amount(required(f, 'transactionAmountValue', line), currency, line, 'transactionAmountValue'),
  };
  const positive = row.type === 'PAYMENT';
  if (row.amount === 0n || row.amount > 0n !== positive) {
    throw new ReportRejected(`line ${line}: a ${row.type} amount is ${positive ? 'positive' : 'negative'}, got ${f.transactionAmountValue}`);
  }
  if (row.type !== 'PAYMENT' && !row.originalTransactionRequestId) throw new ReportRejected(`line ${line}: a ${row.type} names its original payment`);
  return row;
}

export function parseTransactionItems(text: string): TransactionItems {
  const rows: TransactionRow[] = [];
  const unsupported: UnsupportedRow[] = [];
  for (const { line, fields } of records(text, TRANSACTION_COLUMNS)) {
    const type = required(fields, 'transactionType', line);
    if (TRANSACTION_TYPES.includes(type)) rows.push(transactionRow(line, fields));
    else unsupported.push(unsupportedRow(line, type, fields));
  }
  return { rows: onceEach(rows), unsupported };
}

/**
 * A row of a type settlement does not book, kept for finance: its ids come from Alipay's file, whatever their
 * length, and must neither refuse its discrepancy's event (an id of at most 64 characters) nor be stored unbounded.
 */
function unsupportedRow(line: number, type: string, fields: Record<string, string>): UnsupportedRow {
  const id = fields.transactionId.trim() || required(fields, 'transactionRequestId', line);
  const given = Object.entries(fields).map(([name, value]) => [name, value.trim()]).filter(([, value]) => value);
  const ours = (value: string | undefined) => (value && value.length <= MAX_EVENT_ID_LENGTH ? value : null);
  return {
    line, type, id: boundedName(id, MAX_EVENT_ID_LENGTH), paymentId: ours(fields.originalTransactionRequestId?.trim()), merchantId: ours(fields.referenceMerchantId?.trim()),
    fields: Object.fromEntries(given.map(([name, value]) => [name, boundedName(value, MAX_FIELD_LENGTH)])),
  };
}

/** A transaction is listed once per file: a second row would be matched, posted or paid out twice. */
function onceEach<T extends TransactionRow>(rows: T[]): T[] {
  const seen = new Set<string>();
  for (const row of rows) {
    const key = listingKey(row);
    if (seen.has(key)) throw new ReportRejected(`line ${row.line}: ${row.type} ${row.transactionRequestId} appears twice`);
    seen.add(key);
  }
  return rows;
}

export const listingKey = (row: Pick<TransactionRow, 'type' | 'transactionRequestId'>) => `${row.type}:${row.transactionRequestId}`;

/**
 * A day's parts are one report, so a transaction is listed once across them as within one file: a part
 * repeating a row of an earlier part (`listed`: each listed transaction and the part that lists it, read
 * before or at this look) is rejected whole. A new copy of the same part (`part` is its name) is no repeat.
 * Adds the part's rows to `listed` when it passes.
 */
export function listOnceAcrossParts(rows: readonly TransactionRow[], part: string, listed: Map<string, string>): void {
  const repeated = rows.find((row) => (listed.get(listingKey(row)) ?? part) !== part);
  if (repeated) {
    throw new ReportRejected(`line ${repeated.line}: ${repeated.type} ${repeated.transactionRequestId} appears twice: ${listed.get(listingKey(repeated))} lists it too`);
  }
  for (const row of rows) listed.set(listingKey(row), part);
}

/**
 * A settlement batch: its items files (one, or `_000`, `_001`… when Alipay splits a batch, each whole with its
 * own header and `<END>`) and its summary file, read together because neither stands alone. Every item's
 * settlement amount is its transaction amount plus its fee (same currency), every item belongs to the batch,
 * and the items sum to the summary's TOTAL line (count, settlement amount and fee), as do the items of each
 * transaction type to that type's line. Items of a type settlement does not book and summary lines of a type no
 * item has (a settlement fee) count in the TOTAL beside them, kept apart for finance. Fewer items than the TOTAL
 * counts is BatchIncomplete: more files may come.
 */
export function parseSettlementBatch(itemsTexts: readonly string[], summaryText: string, expected: { batchId: string; currency: string }): SettlementBatchReport {
  const read = itemsTexts.map((text, part) => inPart(part, itemsTexts.length, () => settlementItems(text, expected, part)));
  const items = onceEach(read.flatMap((r) => r.items));
  const unsupportedItems = read.flatMap((r) => r.unsupported);
  const unsupportedTypes = new Set(unsupportedItems.map((i) => i.type));
  const summary = records(summaryText, SUMMARY_COLUMNS).map(({ line, fields }): SummaryLine => {
    if (fields.settlementBatchId.trim() !== expected.batchId) throw new ReportRejected(`summary line ${line}: settlementBatchId ${fields.settlementBatchId} in the file of batch ${expected.batchId}`);
    const settlementCurrency = required(fields, 'settlementCurrency', line);
    if (settlementCurrency !== expected.currency) throw new ReportRejected(`summary line ${line}: settlementCurrency ${settlementCurrency} in a ${expected.currency} batch`);
    const count = required(fields, 'count', line);
    if (!/^\d{1,9}$/.test(count)) throw new ReportRejected(`summary line ${line}: count "${fields.count}" is not a count`);
    const feeCurrency = required(fields, 'feeCurrency', line);
    if (feeCurrency !== settlementCurrency) throw new ReportRejected(`summary line ${line}: fee in ${feeCurrency}, settlement in ${settlementCurrency}`);
    return {
      line,
      customerId: required(fields, 'customerId', line),
      summaryType: required(fields, 'summaryType', line),
      count: Number(count),
      settlementCurrency,
      settlementAmount: amount(required(fields, 'settlementAmountValue', line), settlementCurrency, line, 'settlementAmountValue'),
      fee: amount(required(fields, 'feeAmountValue', line), feeCurrency, line, 'feeAmountValue'),
      // the payout is booked on this time's business day
      settlementTime: time(fields, 'settlementTime', line, 'summary line'),
    };
  });
  const totals = summary.filter((s) => s.summaryType === 'TOTAL');
  if (totals.length !== 1) throw new ReportRejected(`the summary has ${totals.length} TOTAL lines, not one`);
  // lines of a type no item has (a settlement fee, a reserve) are in the TOTAL beside the items
  const otherLines = summary.filter((s) => s.summaryType !== 'TOTAL' && !TRANSACTION_TYPES.includes(s.summaryType) && !unsupportedTypes.has(s.summaryType));
  const besides = [...unsupportedItems.length ? ['its items of other types'] : [], ...otherLines.length ? [`its ${otherLines.map((s) => s.summaryType).join(', ')} lines`] : []];
  const also = besides.length ? ` and ${besides.join(' and ')}` : '';
  const entries = [...items, ...unsupportedItems, ...otherLines];
  withinBigint('settlement amounts', entries.map((e) => e.settlementAmount));
  withinBigint('fees', entries.map((e) => e.fee));
  withinBigint('transaction amounts', items.map((i) => i.amount));
  const all = tally(entries);
  if (totals[0].count > all.count) throw new BatchIncomplete(`TOTAL: the summary counts ${totals[0].count} items, the items files${also} hold ${all.count}`);
  const check = (label: string, line: SummaryLine, group: Tally, what = '') => {
    if (line.count !== group.count) throw new ReportRejected(`${label}: the summary counts ${line.count} items, the items files${what} hold ${group.count}`);
    if (line.settlementAmount !== group.net) throw new ReportRejected(`${label}: the settlement items${what} sum to ${group.net} minor units, the summary says ${line.settlementAmount}`);
    if (line.fee !== group.fee) throw new ReportRejected(`${label}: the items' fees${what} sum to ${group.fee} minor units, the summary says ${line.fee}`);
  };
  check('TOTAL', totals[0], all, also);
  for (const line of summary) {
    if (TRANSACTION_TYPES.includes(line.summaryType)) check(line.summaryType, line, tally(items.filter((i) => i.type === line.summaryType)));
    else if (unsupportedTypes.has(line.summaryType)) check(line.summaryType, line, tally(unsupportedItems.filter((i) => i.type === line.summaryType)));
  }
  const customers = new Set(items.map((i) => i.customerId));
  if (customers.size > 1 || (customers.size === 1 && !customers.has(totals[0].customerId))) throw new ReportRejected('the items and the summary name different customers');
  const quoted = items.find((i) => i.quoteCurrencyPair);
  return {
    batchId: expected.batchId,
    customerId: totals[0].customerId,
    currency: expected.currency,
    settlementTime: totals[0].settlementTime,
    items,
    unsupportedItems,
    summary,
    otherLines,
    gross: totals[0].settlementAmount - totals[0].fee,
    fees: totals[0].fee,
    net: totals[0].settlementAmount,
    fx: quoted ? { quoteCurrencyPair: quoted.quoteCurrencyPair, quotePrice: quoted.quotePrice } : null,
  };
}

/** Names the items file a rejection is about when the batch has several. */
function inPart<T>(part: number, parts: number, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (parts > 1 && error instanceof ReportRejected) throw new ReportRejected(`items file ${part + 1} of ${parts}: ${error.message}`);
    throw error;
  }
}

/** The longest id a settlement event carries (libs/contracts `idSchema`): a request id longer is refused by a consumer that validates. */
const MAX_EVENT_ID_LENGTH = 64;

/** The longest value of a report row's field an UNSUPPORTED_ROW discrepancy keeps (in `actual`, and in its event). */
export const MAX_FIELD_LENGTH = 256;

/**
 * `name` when it is at most `max` characters long; otherwise its beginning, `~` and 16 hex digits of the SHA-256
 * of the whole, `max` characters at most: the same for the same name at every ingestion, and two long names alike
 * at the start stay two.
 */
export function boundedName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  const start = name.slice(0, max - hash.length - 1);
  // never half of a character that takes two UTF-16 units
  const whole = /[\uD800-\uDBFF]$/.test(start) ? start.slice(0, -1) : start;
  return `${whole}~${hash}`;
}

/**
 * The request id of a summary line of a type no item has: `<batchId>:<summaryType>`, or, when that is longer
 * than an event's id may be, its beginning and a short hash of the whole, so that it fits and is the same at
 * every ingestion of the batch.
 */
export function summaryLineRequestId(batchId: string, summaryType: string): string {
  return boundedName(`${batchId}:${summaryType}`, MAX_EVENT_ID_LENGTH);
}

/**
 * The summary lines of a type no item has, one per type: two lines of one type (Alipay may split a type) are
 * together what the payout holds of it, so their counts, settlement amounts and fees are summed; the first
 * line's number and settlement time stand for them.
 */
export function summaryLinesByType(lines: readonly SummaryLine[]): SummaryLine[] {
  const byType = new Map<string, SummaryLine>();
  for (const line of lines) {
    const seen = byType.get(line.summaryType);
    byType.set(line.summaryType, seen ? { ...seen, count: seen.count + line.count, settlementAmount: seen.settlementAmount + line.settlementAmount, fee: seen.fee + line.fee } : line);
  }
  return [...byType.values()];
}

interface Tally {
  count: number;
  net: bigint;
  fee: bigint;
}

/** What items (one each) and summary lines (their count) add up to. */
function tally(entries: ReadonlyArray<{ settlementAmount: bigint; fee: bigint; count?: number }>): Tally {
  return {
    count: entries.reduce((n, e) => n + (e.count ?? 1), 0),
    net: entries.reduce((sum, e) => sum + e.settlementAmount, 0n),
    fee: entries.reduce((sum, e) => sum + e.fee, 0n),
  };
}

/** An items file's rows: those settlement books, and those of a type it does not, with what they settled. */
function settlementItems(itemsText: string, expected: { batchId: string; currency: string }, part: number): { items: BatchItem[]; unsupported: UnsupportedItem[] } {
  const items: BatchItem[] = [];
  const unsupported: UnsupportedItem[] = [];
  for (const { line, fields } of records(itemsText, SETTLEMENT_ITEM_COLUMNS)) {
    const type = required(fields, 'transactionType', line);
    if (TRANSACTION_TYPES.includes(type)) {
      items.push({ ...settlementItem(line, fields, expected), part });
      continue;
    }
    const settlementBatchId = required(fields, 'settlementBatchId', line);
    if (settlementBatchId !== expected.batchId) throw new ReportRejected(`line ${line}: settlementBatchId ${settlementBatchId} in the file of batch ${expected.batchId}`);
    const settlementCurrency = required(fields, 'settlementCurrency', line);
    if (settlementCurrency !== expected.currency) throw new ReportRejected(`line ${line}: settlementCurrency ${settlementCurrency} in a ${expected.currency} batch`);
    const feeCurrency = required(fields, 'feeCurrency', line);
    if (feeCurrency !== settlementCurrency) throw new ReportRejected(`line ${line}: fee in ${feeCurrency}, settlement in ${settlementCurrency}`);
    unsupported.push({
      ...unsupportedRow(line, type, fields), part,
      settlementAmount: amount(required(fields, 'settlementAmountValue', line), settlementCurrency, line, 'settlementAmountValue'),
      fee: amount(required(fields, 'feeAmountValue', line), feeCurrency, line, 'feeAmountValue'),
    });
  }
  return { items, unsupported };
}

function settlementItem(line: number, fields: Record<string, string>, expected: { batchId: string; currency: string }): SettlementItemRow {
  const base = transactionRow(line, fields);
  const settlementCurrency = required(fields, 'settlementCurrency', line);
  const feeCurrency = required(fields, 'feeCurrency', line);
  const item: SettlementItemRow = {
    ...base,
    settlementBatchId: required(fields, 'settlementBatchId', line),
    settlementTime: time(fields, 'settlementTime', line),
    settlementCurrency,
    settlementAmount: amount(required(fields, 'settlementAmountValue', line), settlementCurrency, line, 'settlementAmountValue'),
    feeCurrency,
    fee: amount(required(fields, 'feeAmountValue', line), feeCurrency, line, 'feeAmountValue'),
    quoteCurrencyPair: fields.quoteCurrencyPair.trim(),
    quotePrice: fields.quotePrice.trim(),
  };
  if (item.settlementBatchId !== expected.batchId) throw new ReportRejected(`line ${line}: settlementBatchId ${item.settlementBatchId} in the file of batch ${expected.batchId}`);
  if (item.settlementCurrency !== expected.currency) throw new ReportRejected(`line ${line}: settlementCurrency ${item.settlementCurrency} in a ${expected.currency} batch`);
  if (item.feeCurrency !== item.settlementCurrency) throw new ReportRejected(`line ${line}: fee in ${item.feeCurrency}, settlement in ${item.settlementCurrency}`);
  if (item.currency === item.settlementCurrency) {
    if (item.amount + item.fee !== item.settlementAmount) {
      throw new ReportRejected(`line ${line}: settlementAmountValue ${fields.settlementAmountValue} ≠ transactionAmountValue ${fields.transactionAmountValue} + feeAmountValue ${fields.feeAmountValue}`);
    }
  } else if (!item.quoteCurrencyPair || !item.quotePrice) {
    throw new ReportRejected(`line ${line}: settled in ${item.settlementCurrency} from ${item.currency} without a quote`);
  }
  return item;
}

/** Whether a yyyy-mm-dd day is one the calendar has (Date.parse would roll 2026-02-30 over to March). */
function isCalendarDay(day: string): boolean {
  const at = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === day;
}

/** The report day `days` after `day` (both yyyy-mm-dd; negative goes back). */
export function shiftDay(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The UTC+8 calendar day of an instant: Alipay's report day and cut-off (spec §13.1). */
export function businessDayOf(time: string | Date): string {
  const at = typeof time === 'string' ? new Date(time) : time;
  return new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}
