import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expectedFee, toMajorUnits } from '@upm/contracts';
import { formatAmsTime } from '@upm/alipay';
import type { Logger } from '@upm/shared-observability';
import { businessDayBounds } from './business-time';
import { DEFAULT_SANDBOX_FEES, SandboxFees } from './fees';
import { quote, Quote } from './fx';
import type { LedgerEntry } from './payment-book';

/**
 * The day's report files of spec §13 in the classic layout (§13.2): UTF-8 CSV, a header line, one line per
 * record, `<END>` as the last line, amounts in major units per the currency's exponent.
 *
 * Signs: every amount is money to the merchant. PAYMENT rows are positive, REFUND and CANCEL rows negative;
 * the fee of each PAYMENT and REFUND (fees.ts: 10 minor units by default, as in Antom's sandbox, or a rate of
 * the gross plus a fixed part) is negative, and a CANCEL gives its payment's fee back (positive).
 * settlementAmountValue = transactionAmountValue + feeAmountValue on every row (both converted first, when settled in another currency), so a batch's TOTAL
 * is the plain sum of its rows.
 *
 * A settlement batch holds one customer's transactions of one UTC+8 day that settle in one currency; it
 * settles at 00:00 UTC+8 the next day, and its files are written next to the transaction file of that day.
 * Each transaction settles in the currency its payment chose at pay (the contract's, or the one its
 * settlementStrategy named; refunds and cancels follow their payment), else in its own. When that differs
 * from its own and the sandbox has rates for both (see fx.ts), its amount and fee are converted at the fixed
 * quote, each rounded on its own, and the item names the quote (spec §13.2); without a rate it stays in its own.
 *
 * Files: `<name>_<seq>.csv` (spec §13.1). A transaction file or a batch's items file with more rows than
 * `maxRowsPerFile` is split into `_000`, `_001`… (seq 000–999), each a whole file with its own header and
 * `<END>`; a batch's summary, a handful of lines, is always the one file `_000`.
 */
export type ReportKind = 'transactionItems' | 'settlementItems' | 'settlementSummary';

export interface ReportFile {
  customerId: string;
  /** yyyymmdd */
  day: string;
  kind: ReportKind;
  name: string;
  currency?: string;
  batchId?: string;
  /** the file's index within its report: `000`, `001`… */
  seq: string;
  /** data lines, header and `<END>` excluded */
  rows: number;
  content: string;
}

/** data rows per file before a report is split; Alipay names no figure, so this is the sandbox's (settable) choice */
export const REPORT_MAX_ROWS_PER_FILE = 100_000;
/** `seq` has three digits (spec §13.1) */
const MAX_FILES_PER_REPORT = 1000;
const ACQUIRER = 'Alipay_SG';
const PAYMENT_METHOD_TYPE = 'CONNECT_WALLET';
const PSP_NAME = 'ALIPAYCN';
const PRODUCT_CODE = 'IN_STORE_PAYMENT';

export const TRANSACTION_COLUMNS = [
  'customerId', 'acquirer', 'acquirerReferenceNo', 'referenceMerchantId', 'referenceStoreId', 'transactionType',
  'transactionId', 'originalTransactionId', 'transactionRequestId', 'originalTransactionRequestId', 'referenceTransactionId',
  'orderDescription', 'paymentMethodType', 'pspName', 'paymentTime', 'productCode', 'transactionAmountValue', 'transactionCurrency',
] as const;

export const SETTLEMENT_ITEM_COLUMNS = [
  'settlementBatchId', 'customerId', 'acquirer', 'acquirerReferenceNo', 'referenceMerchantId', 'referenceStoreId', 'transactionType',
  'transactionId', 'originalTransactionId', 'transactionRequestId', 'originalTransactionRequestId', 'referenceTransactionId',
  'paymentMethodType', 'pspName', 'paymentTime', 'settlementTime', 'productCode', 'transactionAmountValue', 'transactionCurrency',
  'settlementAmountValue', 'settlementCurrency', 'quoteCurrencyPair', 'quotePrice', 'feeAmountValue', 'feeCurrency',
  'taxFeeAmountValue', 'taxFeeCurrency', 'processingFeeAmountValue', 'processingFeeCurrency', 'nonGuaranteeCouponValue',
  'nonGuaranteeCouponCurrency',
] as const;

export const SETTLEMENT_SUMMARY_COLUMNS = [
  'settlementBatchId', 'customerId', 'acquirer', 'summaryType', 'settlementTime', 'count', 'settlementAmountValue',
  'settlementCurrency', 'feeAmountValue', 'feeCurrency', 'taxFeeAmountValue', 'taxFeeCurrency', 'processingFeeAmountValue',
  'processingFeeCurrency', 'nonGuaranteeCouponValue', 'nonGuaranteeCouponCurrency',
] as const;

type Row<C extends readonly string[]> = Record<C[number], string>;

interface Signed {
  entry: LedgerEntry;
  transaction: bigint;
  fee: bigint;
}

/** A transaction as its batch settles it: amount and fee in the settlement currency, with the quote used. */
interface Settled extends Signed {
  settlementCurrency: string;
  settlementAmount: bigint;
  settlementFee: bigint;
  quote?: Quote;
}

export interface ReportOptions {
  /** Alipay's fee schedule, in minor units of the transaction currency; default DEFAULT_SANDBOX_FEES (10 per transaction) */
  fees?: SandboxFees;
  /** data rows in one file before the report is split into `_000`, `_001`…; default REPORT_MAX_ROWS_PER_FILE */
  maxRowsPerFile?: number;
}

/** Every report file of one UTC+8 day; `customers` get a (possibly empty) transaction file even on a quiet day. */
export function buildDayReports(ledger: readonly LedgerEntry[], day: string, customers: readonly string[], options: ReportOptions = {}): ReportFile[] {
  const fees = options.fees ?? DEFAULT_SANDBOX_FEES;
  const maxRows = options.maxRowsPerFile ?? REPORT_MAX_ROWS_PER_FILE;
  const { start, end } = businessDayBounds(day);
  const entries = ledger.filter((entry) => entry.at >= start && entry.at < end);
  const compact = day.replace(/-/g, '');
  const settlementTime = formatAmsTime(end);
  const files: ReportFile[] = [];
  for (const customerId of unique([...customers, ...entries.map((e) => e.customerId)])) {
    const own = entries.filter((entry) => entry.customerId === customerId).map((entry) => signed(entry, fees));
    files.push(...transactionFiles(customerId, compact, own, maxRows));
    const settled = own.map(settle);
    for (const currency of unique(settled.map((s) => s.settlementCurrency)).sort()) {
      const batch = settled.filter((s) => s.settlementCurrency === currency);
      const batchId = `${compact}${currency}001`;
      files.push(...settlementItemsFiles(customerId, compact, currency, batchId, settlementTime, batch, maxRows));
      files.push(settlementSummaryFile(customerId, compact, currency, batchId, settlementTime, batch));
    }
  }
  return files;
}

/**
 * Where a day folder is built before it replaces the one in place, under the report folder (so a rename moves it)
 * and deep enough that a reader of the `<customerId>/<yyyymmdd>/*.csv` layout, or one walking three levels down as
 * settlement's does, never lists what is in it. Not a `.csv`, and hidden, like the delivery marker.
 *
 * One write's staging folder `write-*` holds `new/<yyyymmdd>/` (the files being written) and, once the swap has
 * begun, `previous/<customerId>/<yyyymmdd>/` (the folder that was in place), so `recoverReportFolders` can tell
 * where a folder moved out belongs.
 */
export const REPORT_STAGING_DIR = '.sandbox-staging';

/**
 * Writes the files under `<dir>/<customerId>/<yyyymmdd>/` and answers their paths, in the order of `files`. Each
 * day folder is replaced whole: its files are written into a folder of their own under REPORT_STAGING_DIR, then
 * the folder in place is moved out and the new one renamed in. A day written again with fewer parts leaves none
 * of the previous parts, and no file is ever seen half written.
 *
 * What a reader polling the folder (settlement takes only `.csv`) can rely on: a listing of the folder names one
 * write's files, the previous or the new, or for an instant none. A reader that lists the folder and then opens
 * the files one by one can still meet a swap in between: a name it listed may be gone (ENOENT) or, when the new
 * write has a file of that name, hold the new write's content next to previous parts it already read. Its next
 * look at the folder sees one write's files again.
 *
 * A write that fails before the swap leaves the folder in place as it was: a transactionItems file on disk always
 * comes with its day's settlement files, which a restart with delivery on relies on when it keeps a day's files by
 * their transaction records (sandbox.ts). A crash between the two renames leaves the day folder missing and its
 * files in the staging folder: `recoverReportFolders` puts them back before anything reads or writes reports.
 */
export async function writeReports(dir: string, files: readonly ReportFile[]): Promise<string[]> {
  const root = path.resolve(dir);
  const folderOf = (file: ReportFile) => path.join(root, file.customerId, file.day);
  const folders = new Map(files.map((file) => [folderOf(file), file]));
  for (const [folder, { customerId, day }] of folders) {
    await replaceFolder(root, customerId, day, files.filter((file) => folderOf(file) === folder));
  }
  return files.map((file) => path.join(folderOf(file), file.name));
}

/**
 * A failed swap whose folder moved out could not be renamed back: the day folder is missing and its files are
 * only in `previousAt`, which is kept. `recoverReportFolders` puts them back (the sandbox runs it before its next
 * report write and on start-up).
 */
export class ReportFolderNotRestoredError extends Error {
  readonly code = 'SANDBOX.REPORT_FOLDER_NOT_RESTORED';

  constructor(
    readonly folder: string,
    readonly previousAt: string,
    cause: unknown,
  ) {
    super(`the report folder ${folder} could not be replaced nor put back; its files are kept in ${previousAt} until the report folders are recovered`, { cause });
    this.name = 'ReportFolderNotRestoredError';
  }
}

async function replaceFolder(root: string, customerId: string, day: string, files: readonly ReportFile[]): Promise<void> {
  const folder = path.join(root, customerId, day);
  await mkdir(path.join(root, REPORT_STAGING_DIR), { recursive: true });
  const staging = await mkdtemp(path.join(root, REPORT_STAGING_DIR, 'write-'));
  // <staging>/new/<yyyymmdd>/*.csv: four levels below the report folder
  const next = path.join(staging, 'new', day);
  const previous = path.join(staging, 'previous', customerId, day);
  let keepStaging = false;
  try {
    await mkdir(next, { recursive: true });
    for (const file of files) await writeFile(path.join(next, file.name), file.content, 'utf8');
    await mkdir(path.dirname(previous), { recursive: true });
    await mkdir(path.dirname(folder), { recursive: true });
    const replaced = await moved(folder, previous);
    try {
      await rename(next, folder);
    } catch (error) {
      if (replaced) {
        try {
          await rename(previous, folder);
        } catch (restoreError) {
          // the staging folder holds the only copy of the day's files now
          keepStaging = true;
          throw new ReportFolderNotRestoredError(folder, previous, restoreError);
        }
      }
      throw error;
    }
  } finally {
    if (!keepStaging) await rm(staging, { recursive: true, force: true });
  }
}

/** Moves `from` to `to`; answers false when there was nothing to move. */
async function moved(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** What `recoverReportFolders` did with the staging folders it found. */
export interface ReportFolderRecovery {
  /** day folders put back from a write stopped between its two renames */
  restored: string[];
  /** staging folders removed: a write finished or stopped before its swap */
  removed: string[];
  /** staging folders kept: they hold a previous folder that could not be put back */
  kept: string[];
}

/**
 * Mends what a write stopped by a crash left under REPORT_STAGING_DIR; to run before anything reads or writes
 * the report folders, by the one process that writes them:
 * - a `previous/<customerId>/<yyyymmdd>` whose day folder is missing (stopped between the two renames) is put
 *   back where it was;
 * - a staging folder then holding no previous folder, or one whose new folder was renamed in (the write
 *   finished), is removed;
 * - any other (a previous folder whose day folder is back and whose new one is still there, a layout it does
 *   not know) is kept and logged, as it may hold the only copy of delivered files.
 */
export async function recoverReportFolders(dir: string, logger: Pick<Logger, 'info' | 'error'>): Promise<ReportFolderRecovery> {
  const root = path.resolve(dir);
  const stagingRoot = path.join(root, REPORT_STAGING_DIR);
  const recovery: ReportFolderRecovery = { restored: [], removed: [], kept: [] };
  for (const write of await entriesOf(stagingRoot)) {
    const staging = path.join(stagingRoot, write);
    const previousRoot = path.join(staging, 'previous');
    let keep = false;
    for (const customerId of await entriesOf(previousRoot)) {
      for (const day of await entriesOf(path.join(previousRoot, customerId))) {
        const previous = path.join(previousRoot, customerId, day);
        const folder = path.join(root, customerId, day);
        if (!/^\d{8}$/.test(day) || !(await isFolder(previous))) {
          keep = true;
        } else if (!(await exists(folder))) {
          await mkdir(path.dirname(folder), { recursive: true });
          await rename(previous, folder);
          recovery.restored.push(folder);
          logger.info({ folder, from: previous }, 'report folder put back from a write stopped half way');
        } else if (await exists(path.join(staging, 'new', day))) {
          keep = true;
        }
      }
    }
    if (keep) {
      recovery.kept.push(staging);
      logger.error({ staging }, 'report staging folder kept: it holds a previous day folder that was not put back; move its files into place by hand');
    } else {
      await rm(staging, { recursive: true, force: true });
      recovery.removed.push(staging);
    }
  }
  return recovery;
}

async function entriesOf(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function isFolder(file: string): Promise<boolean> {
  return (await stat(file)).isDirectory();
}

/** A report file already in a customer's day folder, as its name and content describe it. */
export interface WrittenReport {
  path: string;
  customerId: string;
  /** yyyymmdd */
  day: string;
  kind: ReportKind;
  currency?: string;
  batchId?: string;
  seq: string;
  /** data records, header and `<END>` excluded */
  rows: number;
}

const REPORT_NAME = /^(?:(transactionItems)_(\d{8})|(settlementItems|settlementSummary)_([A-Z]{3})_([A-Za-z0-9]+))_(\d{3})\.csv$/;

/** The report files `writeReports` put under `<dir>/<customerId>/<yyyymmdd>/`, by name; none when the folder is absent. */
export async function readWrittenReports(dir: string, customerId: string, day: string): Promise<WrittenReport[]> {
  const folder = path.resolve(dir, customerId, day);
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const written: WrittenReport[] = [];
  for (const name of names) {
    const match = REPORT_NAME.exec(name);
    if (!match) continue;
    const [, transactionKind, , settlementKind, currency, batchId, seq] = match;
    const file = path.join(folder, name);
    const rows = dataRecords(await readFile(file, 'utf8'));
    const kind = (transactionKind ?? settlementKind) as ReportKind;
    written.push({ path: file, customerId, day, kind, ...(currency ? { currency, batchId } : {}), seq, rows });
  }
  return written;
}

/** The transaction records a day's files hold: the rows of its transactionItems files. */
export function transactionRecords(files: ReadonlyArray<Pick<ReportFile, 'kind' | 'rows'>>): number {
  return files.filter((file) => file.kind === 'transactionItems').reduce((sum, file) => sum + file.rows, 0);
}

/** Records of a report file between its header and `<END>`; a quoted field may hold a line break. */
function dataRecords(content: string): number {
  let records = 0;
  let quoted = false;
  let recordOpen = false;
  for (const char of content) {
    if (char === '"') quoted = !quoted;
    if (char === '\n' && !quoted) {
      if (recordOpen) records += 1;
      recordOpen = false;
    } else {
      recordOpen = true;
    }
  }
  if (recordOpen) records += 1;
  const ended = /(^|\n)<END>\n?$/.test(content);
  return Math.max(0, records - 1 - (ended ? 1 : 0));
}

function signed(entry: LedgerEntry, fees: SandboxFees): Signed {
  const amount = BigInt(entry.amount.value);
  // a cancel reverses the whole payment, so the fee of its gross is the one its payment was charged
  const fee = expectedFee(fees, entry.amount.currency, amount);
  switch (entry.type) {
    case 'PAYMENT':
      return { entry, transaction: amount, fee: -fee };
    case 'REFUND':
      return { entry, transaction: -amount, fee: -fee };
    case 'CANCEL':
      return { entry, transaction: -amount, fee };
  }
}

/** Settles a transaction in its payment's settlement currency when there is a quote to it, else in its own currency. */
function settle(s: Signed): Settled {
  const own = s.entry.amount.currency;
  const currency = s.entry.settlementCurrency;
  const q = currency && currency !== own ? quote(own, currency) : undefined;
  if (!currency || !q) return { ...s, settlementCurrency: own, settlementAmount: s.transaction + s.fee, settlementFee: s.fee };
  const settlementFee = q.convert(s.fee);
  return { ...s, settlementCurrency: currency, settlementAmount: q.convert(s.transaction) + settlementFee, settlementFee, quote: q };
}

function transactionFiles(customerId: string, day: string, rows: readonly Signed[], maxRows: number): ReportFile[] {
  const lines = rows.map(({ entry, transaction }): Row<typeof TRANSACTION_COLUMNS> => ({
    ...transactionFields(entry),
    orderDescription: entry.orderDescription,
    transactionAmountValue: major(transaction, entry.amount.currency),
    transactionCurrency: entry.amount.currency,
  }));
  return parts(lines, maxRows).map((part, i) => {
    const seq = seqOf(i);
    return { customerId, day, kind: 'transactionItems', name: `transactionItems_${day}_${seq}.csv`, seq, rows: part.length, content: csv(TRANSACTION_COLUMNS, part) };
  });
}

function settlementItemsFiles(customerId: string, day: string, currency: string, batchId: string, settlementTime: string, rows: readonly Settled[], maxRows: number): ReportFile[] {
  const lines = rows.map(({ entry, transaction, settlementAmount, settlementFee, quote: q }): Row<typeof SETTLEMENT_ITEM_COLUMNS> => ({
    settlementBatchId: batchId,
    ...transactionFields(entry),
    settlementTime,
    transactionAmountValue: major(transaction, entry.amount.currency),
    transactionCurrency: entry.amount.currency,
    settlementAmountValue: major(settlementAmount, currency),
    settlementCurrency: currency,
    quoteCurrencyPair: q?.pair ?? '',
    quotePrice: q?.price ?? '',
    feeAmountValue: major(settlementFee, currency),
    feeCurrency: currency,
    ...feeBreakdown(settlementFee, currency),
  }));
  return parts(lines, maxRows).map((part, i) => {
    const seq = seqOf(i);
    return { customerId, day, kind: 'settlementItems', name: `settlementItems_${currency}_${batchId}_${seq}.csv`, currency, batchId, seq, rows: part.length, content: csv(SETTLEMENT_ITEM_COLUMNS, part) };
  });
}

function settlementSummaryFile(customerId: string, day: string, currency: string, batchId: string, settlementTime: string, rows: readonly Settled[]): ReportFile {
  const line = (summaryType: string, group: readonly Settled[]): Row<typeof SETTLEMENT_SUMMARY_COLUMNS> => {
    const fee = group.reduce((sum, s) => sum + s.settlementFee, 0n);
    const settlement = group.reduce((sum, s) => sum + s.settlementAmount, 0n);
    return {
      settlementBatchId: batchId,
      customerId,
      acquirer: ACQUIRER,
      summaryType,
      settlementTime,
      count: String(group.length),
      settlementAmountValue: major(settlement, currency),
      settlementCurrency: currency,
      feeAmountValue: major(fee, currency),
      feeCurrency: currency,
      ...feeBreakdown(fee, currency),
    };
  };
  const byType = (['PAYMENT', 'REFUND', 'CANCEL'] as const)
    .map((type) => [type, rows.filter((s) => s.entry.type === type)] as const)
    .filter(([, group]) => group.length > 0)
    .map(([type, group]) => line(type, group));
  const lines = [...byType, line('TOTAL', rows)];
  const seq = seqOf(0);
  return { customerId, day, kind: 'settlementSummary', name: `settlementSummary_${currency}_${batchId}_${seq}.csv`, currency, batchId, seq, rows: lines.length, content: csv(SETTLEMENT_SUMMARY_COLUMNS, lines) };
}

/** The rows of a report cut into files of at most `maxRows`; a report without rows is still one (empty) file. */
function parts<T>(rows: readonly T[], maxRows: number): T[][] {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRowsPerFile must be a positive integer, got ${maxRows}`);
  const count = Math.max(1, Math.ceil(rows.length / maxRows));
  if (count > MAX_FILES_PER_REPORT) throw new RangeError(`${rows.length} rows need ${count} files of ${maxRows}; seq allows ${MAX_FILES_PER_REPORT}`);
  return Array.from({ length: count }, (_, i) => rows.slice(i * maxRows, (i + 1) * maxRows));
}

function seqOf(index: number): string {
  return String(index).padStart(3, '0');
}

/** The fee is all processing fee: no tax on it, and no wallet coupon in the sandbox (spec §13.2). */
function feeBreakdown(fee: bigint, currency: string) {
  const none = major(0n, currency);
  return {
    taxFeeAmountValue: none,
    taxFeeCurrency: currency,
    processingFeeAmountValue: major(fee, currency),
    processingFeeCurrency: currency,
    nonGuaranteeCouponValue: none,
    nonGuaranteeCouponCurrency: currency,
  };
}

function transactionFields(entry: LedgerEntry) {
  return {
    customerId: entry.customerId,
    acquirer: ACQUIRER,
    acquirerReferenceNo: '',
    referenceMerchantId: entry.referenceMerchantId,
    referenceStoreId: entry.referenceStoreId,
    transactionType: entry.type,
    transactionId: entry.transactionId,
    originalTransactionId: entry.originalTransactionId,
    transactionRequestId: entry.transactionRequestId,
    originalTransactionRequestId: entry.originalTransactionRequestId,
    referenceTransactionId: entry.referenceTransactionId,
    paymentMethodType: PAYMENT_METHOD_TYPE,
    pspName: PSP_NAME,
    paymentTime: formatAmsTime(entry.at),
    productCode: PRODUCT_CODE,
  };
}

function major(minor: bigint, currency: string): string {
  return toMajorUnits(minor, currency);
}

function csv<C extends readonly string[]>(columns: C, rows: ReadonlyArray<Row<C>>): string {
  const lines = [columns.join(','), ...rows.map((row) => columns.map((column) => csvField(row[column as C[number]])).join(',')), '<END>'];
  return `${lines.join('\n')}\n`;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

