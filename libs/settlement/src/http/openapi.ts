import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { balancesQuery, batchesQuery, discrepanciesQuery, exportQuery, filesQuery, id, resolveBody, transactionsQuery } from './schemas';

/** Serves the finance API's OpenAPI document at /openapi.json (and .yaml) and browsable docs at /docs. */
export function configureSettlementHttp(app: NestExpressApplication): void {
  SwaggerModule.setup('docs', app, financeOpenApiDocument() as never, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}

type JsonSchema = Record<string, unknown>;

const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const enumOf = (...values: string[]): JsonSchema => ({ type: 'string', enum: values });
const object = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', required: Object.keys(properties), properties });
const arrayOf = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const timestamp = { type: 'string', format: 'date-time' };

/** Amounts are strings of minor units, signed where money flows back. */
const money = object({ currency: str('ISO 4217'), value: str('minor units, as a string (signed where money flows back)') });

const schemas: Record<string, JsonSchema> = {
  Money: money,
  Balances: object({
    at: timestamp,
    status: enumOf('POSTED', 'ALL'),
    accounts: arrayOf(object({
      account: str('<type>:<merchantId>:<currency>'),
      type: enumOf('ALIPAY_RECEIVABLE', 'MERCHANT_PAYABLE', 'FEES', 'FX_DIFFERENCE', 'SETTLED_FUNDS'),
      merchantId: str(), currency: str(), debits: str('minor units'), credits: str('minor units'),
      balance: str('debits − credits, minor units'), balanceMajor: str('the balance in major units'),
    })),
    totals: arrayOf(object({ currency: str(), debits: str(), credits: str(), balanced: { type: 'boolean', description: 'debits equal credits, as in a sound ledger' } })),
  }),
  Batch: object({
    settlementBatchId: str(), customerId: str('the Alipay customer the batch settles'), currency: str('the settlement currency'),
    gross: ref('Money'), fees: ref('Money'), net: ref('Money'), settlementTime: timestamp, transactionCount: { type: 'integer' },
    fx: nullable(object({ quoteCurrencyPair: str(), quotePrice: str() })), status: enumOf('RECONCILED', 'DISCREPANCIES'), receivedAt: timestamp,
  }),
  BatchItem: object({
    part: { type: 'integer', description: 'which of the batch\'s items files holds the item: 0 for _000, 1 for _001…' }, line: { type: 'integer', description: 'the line in that file' },
    kind: str('PAYMENT, REFUND or CANCEL'), transactionId: str("Alipay's transaction id"), transactionRequestId: str('our paymentId, or refundId for a refund'),
    merchantId: str(), amount: ref('Money'), fee: ref('Money'), settlementAmount: ref('Money'), ledgerTransactionId: nullable(str()), result: str('the item against the ledger: MATCHED, MISMATCHED, MISSING_IN_LEDGER'),
  }),
  Discrepancy: object({
    discrepancyId: str(), type: enumOf('MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER', 'UNSUPPORTED_ROW'), kind: str('PAYMENT, REFUND, CANCEL, or OTHER for an UNSUPPORTED_ROW'),
    fields: nullable(arrayOf(str())), transactionRequestId: str(), paymentId: nullable(str()), refundId: nullable(str()), merchantId: nullable(str()),
    ledgerTransactionId: nullable(str()), expected: { description: "what the ledger holds (null when it holds nothing)" }, actual: { description: "what Alipay's report says (null when it says nothing)" },
    reportFile: nullable(str()), businessDay: str('YYYY-MM-DD, UTC+8'), status: enumOf('OPEN', 'RESOLVED'),
    repeatedIn: nullable(str('for a transaction paid out a second time, the settlement batch that paid it out again (one discrepancy per such batch); null for any other')),
    resolvedBy: nullable(str()), resolutionNote: nullable(str()), resolvedAt: nullable(timestamp), detectedAt: timestamp,
    adjustmentTransactionId: nullable(str('the ledger transaction its resolution booked: the ADJUSTMENT of a MISMATCHED transaction, or a MISSING_IN_LEDGER transaction as Alipay settled it')),
    previousResolutions: {
      ...arrayOf(object({
        resolvedBy: str(), resolutionNote: str(), resolvedAt: timestamp, reopenedAt: timestamp, reopenedBy: str('the settlement items file that disagreed and opened it again'),
      })),
      description: 'the resolutions it had before a settlement batch opened it again, oldest first',
    },
  }),
  LedgerTransaction: object({
    ledgerTransactionId: str(), kind: enumOf('PAYMENT', 'REFUND', 'CANCEL', 'SETTLEMENT', 'ADJUSTMENT'), status: enumOf('EXPECTED', 'POSTED'), merchantId: str(),
    paymentId: nullable(str()), refundId: nullable(str()), requestId: nullable(str()), alipayTransactionId: nullable(str()), amount: ref('Money'), fee: ref('Money'),
    businessDay: nullable(str('YYYY-MM-DD, UTC+8')), origin: enumOf('EVENT', 'REPORT', 'SETTLEMENT', 'RESOLUTION'), settlementBatchId: nullable(str()),
    reconciliation: nullable(enumOf('MATCHED', 'MISMATCHED', 'MISSING_IN_REPORT')), occurredAt: timestamp, createdAt: timestamp, postedAt: nullable(timestamp),
    entries: arrayOf(object({ account: str(), direction: enumOf('DEBIT', 'CREDIT'), amount: str('minor units') })),
  }),
  ReportFile: object({
    id: str(), path: str(), kind: str('transactionItems, settlementItems or settlementSummary'), status: str('INGESTED or REJECTED'), reason: nullable(str('why it was rejected')),
    settlementBatchId: nullable(str()), businessDay: nullable(str()), rows: nullable({ type: 'integer' }), receivedAt: timestamp,
  }),
  FeeSchedule: object({
    feeRateBps: { type: 'integer', description: 'the rate of the gross, basis points (220 = 2.2 %): SETTLEMENT_FEE_RATE_BPS' },
    feeMinor: str('the fixed part of a currency the schedule does not name, minor units: the bare figure of SETTLEMENT_FEE_MINOR'),
    feeMinorByCurrency: { type: 'object', additionalProperties: { type: 'string' }, description: 'the fixed part of each currency SETTLEMENT_FEE_MINOR names, minor units of each' },
    fixedByCurrency: { ...arrayOf(ref('Money')), description: 'the fixed part the ledger books in every currency the platform takes' },
  }),
  Error: object({ error: { type: 'object', required: ['code', 'message'], properties: { code: str(), message: str(), details: { type: 'array', items: {} } } } }),
};

/** A listing's answer: one page of its rows, and `next`, what to pass as `before` for the rest. */
const page = (key: string, row: JsonSchema): JsonSchema => object({
  [key]: arrayOf(row),
  next: nullable(str('the last id of this page, to pass as `before` for the next one; null when the listing ends here')),
});

const ERRORS: Record<number, string> = {
  400: 'VALIDATION_FAILED (details name each field and code)',
  401: 'UNAUTHENTICATED: no or a wrong admin token',
  404: 'SETTLEMENT.BATCH_NOT_FOUND, SETTLEMENT.DISCREPANCY_NOT_FOUND or SETTLEMENT.PAYMENT_NOT_FOUND; for a listing\'s `before` that names no row of it, also SETTLEMENT.FILE_NOT_FOUND or SETTLEMENT.TRANSACTION_NOT_FOUND',
  409: 'SETTLEMENT.ALREADY_RESOLVED',
  422: 'SETTLEMENT.CANNOT_ADJUST (nothing Alipay settled can be booked for this discrepancy), SETTLEMENT.NOT_SETTLED (no settlement batch holds the transaction yet, or has paid out a written-off one whose write-off is to be reversed), SETTLEMENT.NOTHING_TO_ADJUST (Alipay settled what the ledger expects) or SETTLEMENT.REPORTS_INCOMPLETE (a transaction no report lists is written off only once the next day\'s transaction file is in too)',
};

/** The query parameters of a zod object schema, as OpenAPI parameters. */
function queryParameters(schema: z.ZodObject): JsonSchema[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties).map(([name, property]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: property }));
}

interface OperationOptions {
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  /** error statuses besides 401, which every operation answers without the admin token */
  errors?: number[];
}

/** One admin-token operation: its answers (a JSON schema, or a description for a body that is not JSON) and its errors. */
function operation(summary: string, answers: Record<number, JsonSchema | string>, { errors = [], ...request }: OperationOptions = {}): JsonSchema {
  const responses = Object.fromEntries(
    Object.entries(answers).map(([status, body]) => [status, typeof body === 'string' ? { description: body } : { description: 'the answer', content: { 'application/json': { schema: body } } }]),
  );
  for (const code of [401, ...errors]) responses[code] = { description: ERRORS[code], content: { 'application/json': { schema: ref('Error') } } };
  return { summary, security: [{ adminToken: [] }], ...request, responses };
}

const pathId = (name: string) => ({ name, in: 'path', required: true, schema: z.toJSONSchema(id) });

/** The finance API's OpenAPI document; its parameters come from the schemas the controller validates with. */
export function financeOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'UPM Platform finance API',
      version: '1.0.0',
      description: "Settlement batches, discrepancies between the ledger and Alipay's reports, ledger balances and exports (docs/settlement.md). Amounts are strings of minor units.",
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'SETTLEMENT_ADMIN_TOKEN, or ADMIN_TOKEN when unset' } },
      schemas,
    },
    paths: {
      '/v1/settlement/ingest': {
        post: operation('Read the report sources now (one ingestion at a time across replicas)', {
          200: object({
            files: arrayOf({
              type: 'object',
              required: ['path', 'source', 'kind', 'status'],
              properties: {
                path: str('empty for a source that could not be listed'), source: str('the report source it came from'),
                kind: str('transactionItems, settlementItems, or source for a source that could not be listed'), status: enumOf('INGESTED', 'REJECTED', 'DUPLICATE', 'PENDING', 'FAILED'),
                reason: str('why it was rejected or failed, or what a PENDING batch waits for'), rows: { type: 'integer' }, batchId: str(),
              },
            }),
          }),
        }),
      },
      '/v1/settlement/files': {
        get: operation('Every report file received, with its outcome, oldest first, a page at a time', { 200: page('files', ref('ReportFile')) }, { parameters: queryParameters(filesQuery), errors: [400, 404] }),
      },
      '/v1/settlement/batches': {
        get: operation('Settlement batches, newest first (with order=asc, in the order they were written), a page at a time', { 200: page('batches', ref('Batch')) }, { parameters: queryParameters(batchesQuery), errors: [400, 404] }),
      },
      '/v1/settlement/batches/{batchId}': {
        get: operation('One batch with its items and how each matched the ledger', { 200: { allOf: [ref('Batch'), object({ items: arrayOf(ref('BatchItem')) })] } }, { parameters: [pathId('batchId')], errors: [400, 404] }),
      },
      '/v1/settlement/discrepancies': {
        get: operation('Discrepancies between the ledger and the reports, oldest first, a page at a time', { 200: page('discrepancies', ref('Discrepancy')) }, { parameters: queryParameters(discrepanciesQuery), errors: [400, 404] }),
      },
      '/v1/settlement/discrepancies/{discrepancyId}/resolve': {
        post: operation('Mark a discrepancy resolved, saying who and why; with adjust, book what Alipay settled: a difference as an ADJUSTMENT, a transaction missing in the ledger as its batch paid it out, or write off a transaction missing in the report', { 200: ref('Discrepancy') }, {
          parameters: [pathId('discrepancyId')],
          requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(resolveBody, { io: 'input' }) } } },
          errors: [400, 404, 409, 422],
        }),
      },
      '/v1/settlement/balances': {
        get: operation('Ledger balances per account, as of a moment, of everything recorded or only what Alipay settled', { 200: ref('Balances') }, { parameters: queryParameters(balancesQuery), errors: [400] }),
      },
      '/v1/settlement/payments/{paymentId}': {
        get: operation('What settlement knows of one payment: its last state, refunds, review resolution and ledger transactions', {
          200: object({
            paymentId: str(), merchantId: str(), status: str(), amount: ref('Money'), sequence: { type: 'integer' },
            refunds: { type: 'object', additionalProperties: enumOf('PROCESSING', 'SUCCEEDED', 'FAILED') }, reviewResolution: nullable(str()), transactions: arrayOf(ref('LedgerTransaction')),
          }),
        }, { parameters: [pathId('paymentId')], errors: [400, 404] }),
      },
      '/v1/settlement/transactions': {
        get: operation('Ledger transactions with their entries, oldest first, a page at a time', { 200: page('transactions', ref('LedgerTransaction')) }, { parameters: queryParameters(transactionsQuery), errors: [400, 404] }),
      },
      '/v1/settlement/fee-schedule': {
        get: operation('The fee schedule the ledger books payments and refunds with: round_half_up(gross × feeRateBps / 10 000) + the fixed part of the currency, in minor units (read-only; set by configuration)', { 200: ref('FeeSchedule') }),
      },
      '/v1/settlement/export.csv': {
        get: operation('The ledger lines of one report day or one batch as CSV, amounts in major units (give exactly one of day and batchId)', {
          200: "text/csv; one line per ledger entry; a text cell a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return) is written with a leading ', numbers as they are",
        }, { parameters: queryParameters(exportQuery), errors: [400] }),
      },
    },
  };
}
