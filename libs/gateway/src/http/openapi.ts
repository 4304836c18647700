import { z } from 'zod';
import { paymentViewV1, refundViewV1 } from '@upm/contracts';
import { cancelBody, createPaymentBody, createRefundBody, merchantBody, terminalBody } from './schemas';

/** A payment as the POS sees it: as on payments.v1.events, except that it exists before the orchestrator has taken it in. */
const posPaymentView = paymentViewV1.extend({
  sequence: z.number().int().min(-1).describe('orders the payment\'s updates; -1 until the orchestrator has taken the payment in'),
});

/** The POS API's OpenAPI document, generated from the same schemas that validate the requests. */
export function openApiDocument(): Record<string, unknown> {
  const schema = (s: z.ZodType, io: 'input' | 'output' = 'input') => z.toJSONSchema(s, { io, unrepresentable: 'any' });
  const errorBody = {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'array', items: {} } } } },
  };
  const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
  const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: ERRORS[c], content: json('Error') }]));
  const terminalAuth = [{ terminalKey: [] }];
  const adminAuth = [{ adminToken: [] }];
  const pathId = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
  return {
    openapi: '3.1.0',
    info: { title: 'UPM Platform POS API', version: '1.0.0', description: 'Accept Alipay and Alipay+ payment codes at the point of sale. Amounts are strings of minor units.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { terminalKey: { type: 'http', scheme: 'bearer', description: 'the terminal key answered once at terminal creation' }, adminToken: { type: 'http', scheme: 'bearer' } },
      schemas: {
        CreatePayment: schema(createPaymentBody), CreateRefund: schema(createRefundBody), Cancel: schema(cancelBody), Payment: schema(posPaymentView, 'output'), Refund: schema(refundViewV1, 'output'),
        CreateMerchant: schema(merchantBody), CreateTerminal: schema(terminalBody), Error: errorBody,
      },
    },
    paths: {
      '/v1/payments': {
        post: {
          summary: 'Create a payment from a scanned code; answers when it is final or after waitSeconds',
          security: terminalAuth,
          requestBody: { required: true, content: json('CreatePayment') },
          responses: {
            201: { description: 'created by this request, and final', content: json('Payment') },
            200: {
              description: 'the payment this merchantOrderId already made (the same body sent again), final or still PROCESSING when the wait ended: the body\'s status tells which; while it is PROCESSING, poll GET /v1/payments/{paymentId}?waitSeconds=…&ifStatus=PROCESSING',
              content: json('Payment'),
            },
            202: {
              description: 'created by this request, and still PROCESSING when the wait ended: poll GET /v1/payments/{paymentId}?waitSeconds=…&ifStatus=PROCESSING',
              content: json('Payment'),
            },
            ...errors(400, 401, 409, 415, 429, 503),
          },
        },
        get: {
          summary: 'Look a payment up by merchantOrderId', security: terminalAuth,
          parameters: [{ name: 'merchantOrderId', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'the payment', content: json('Payment') }, ...errors(400, 401, 404, 429) },
        },
      },
      '/v1/payments/{paymentId}': {
        get: {
          summary: 'A payment; with waitSeconds, long-polls until its status differs from ifStatus (or is final)', security: terminalAuth,
          parameters: [pathId('paymentId'), { name: 'waitSeconds', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 30 } }, { name: 'ifStatus', in: 'query', schema: { type: 'string' } }],
          responses: { 200: { description: 'the payment', content: json('Payment') }, ...errors(400, 401, 404, 429) },
        },
      },
      '/v1/payments/{paymentId}/cancel': {
        post: {
          summary: 'Cashier abort or void; cancel wins over a late success; answers when the payment is final or after waitSeconds',
          security: terminalAuth,
          parameters: [pathId('paymentId')],
          requestBody: { required: false, content: json('Cancel') },
          responses: {
            200: { description: 'final', content: json('Payment') },
            202: { description: 'cancel under way (a voided sale stays SUCCEEDED until its money is back)', content: json('Payment') },
            ...errors(400, 401, 404, 415, 429),
            422: {
              description: 'PAYMENT_NOT_CANCELLABLE: the payment has a refund that succeeded or is not final yet (the merchant\'s, or the reversal of an earlier cancel); refund the rest instead. Answered by the gateway at once, or when the orchestrator refuses the cancel while the request waits',
              content: json('Error'),
            },
          },
        },
      },
      '/v1/payments/{paymentId}/refunds': {
        post: { summary: 'Refund part or all of a succeeded payment; idempotent on refundRequestId', security: terminalAuth, parameters: [pathId('paymentId')], requestBody: { required: true, content: json('CreateRefund') }, responses: {
          201: { description: 'created and final: SUCCEEDED, or FAILED when Alipay refused it (failure.code is Alipay\'s)', content: json('Refund') },
          200: { description: 'the refund this refundRequestId already made, final', content: json('Refund') },
          202: { description: 'under way: poll GET /v1/payments/{paymentId}/refunds/{refundId}?waitSeconds=…', content: json('Refund') },
          ...errors(400, 401, 404, 409, 415, 429, 503),
          422: { description: 'a business rule refused the refund before it reached Alipay (PAYMENT_NOT_REFUNDABLE, REFUND_EXCEEDS_PAID, CURRENCY_MISMATCH), whether the gateway or the orchestrator found it: no money moved. When the refund had been recorded, details hold its refundId: it reads as FAILED with that code, and a replay of its refundRequestId answers the same 422. Send a new refundRequestId to try again', content: json('Error') },
        } },
      },
      '/v1/payments/{paymentId}/refunds/{refundId}': {
        get: {
          summary: 'One refund; with waitSeconds, long-polls until it is no longer PROCESSING',
          security: terminalAuth,
          parameters: [pathId('paymentId'), pathId('refundId'), { name: 'waitSeconds', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 30 } }],
          responses: { 200: { description: 'the refund', content: json('Refund') }, ...errors(400, 401, 404, 429) },
        },
      },
      '/v1/terminals/me/events': {
        get: {
          summary: 'Server-sent events: the calling terminal\'s own payments\' status changes and refunds (never another terminal\'s or merchant\'s)',
          description: 'Each event is `id: <n>` and `data: {"eventId","type","payment","refund"?,"failure"?}`; `eventId` is the same id merchant webhooks carry. A cancel the platform refused comes once as `PaymentCancelRefused`, with the unchanged payment and the refusal\'s `failure` (its stable code). Reconnect with the `Last-Event-ID` header (or `?lastEventId=`) to replay every event after it; without it the stream starts now. Events are kept for the retention (72 h by default): when some after your Last-Event-ID were deleted the answer is 410 EVENTS_PRUNED (a replay the retention overtakes ends with the comment `: EVENTS_PRUNED`, and its reconnect gets the 410); an id above any this gateway ever sent (another environment\'s, or from before a restore) is 400 INVALID_LAST_EVENT_ID. On either, reconnect without Last-Event-ID first, then re-read the payments you wait for (GET /v1/payments/{paymentId} or ?merchantOrderId=): nothing is missed in between. Comment lines (`: heartbeat`) keep an idle stream open.',
          security: terminalAuth,
          parameters: [{ name: 'Last-Event-ID', in: 'header', schema: { type: 'string', pattern: '^[0-9]+$' } }, { name: 'lastEventId', in: 'query', schema: { type: 'string', pattern: '^[0-9]+$' } }],
          responses: {
            200: { description: 'the stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...errors(401, 429),
            400: { description: 'INVALID_LAST_EVENT_ID: not an event id, or above any this gateway ever sent. Reconnect without it, then re-read the payments you wait for', content: json('Error') },
            410: { description: 'EVENTS_PRUNED: events after the Last-Event-ID were deleted after the retention; details `[{lastEventId, prunedThrough}]`. Reconnect without it, then re-read the payments you wait for', content: json('Error') },
          },
        },
      },
      '/v1/admin/merchants': { post: { summary: 'Onboard a merchant', security: adminAuth, requestBody: { required: true, content: json('CreateMerchant') }, responses: { 201: { description: 'created' }, ...errors(400, 401, 409, 415) } } },
      '/v1/admin/merchants/{merchantId}/stores': { post: { summary: 'Add a store', security: adminAuth, parameters: [pathId('merchantId')], requestBody: { required: true, content: json('CreateMerchant') }, responses: { 201: { description: 'created' }, ...errors(400, 401, 404, 409, 415) } } },
      '/v1/admin/stores/{storeId}/terminals': { post: { summary: 'Add a terminal; the answer holds its key, shown this once', security: adminAuth, parameters: [pathId('storeId')], requestBody: { content: json('CreateTerminal') }, responses: { 201: { description: 'created, with key' }, ...errors(400, 401, 404, 409, 415) } } },
      '/v1/admin/terminals/{terminalId}/rotate-key': { post: { summary: 'Replace a terminal key (the old one stops working)', security: adminAuth, parameters: [pathId('terminalId')], responses: { 200: { description: 'the new key' }, ...errors(401, 404) } } },
      '/v1/admin/terminals/{terminalId}/revoke': { post: { summary: 'Revoke a terminal', security: adminAuth, parameters: [pathId('terminalId')], responses: { 200: { description: 'revoked' }, ...errors(401, 404) } } },
      '/v1/admin/import': { post: { summary: 'Bulk onboarding from CSV (merchantId,merchantName,merchantMcc,storeId,storeName,storeMcc,terminalId); all or nothing',
          description: 'Creates what is missing and keeps what exists. 400 VALIDATION_FAILED lists each problem with its line (the file line its row starts on, blank lines and line breaks in quoted fields counted), field and code (a row with more fields than the header, e.g. an unquoted comma, is field `(row)`, code TOO_MANY_FIELDS; a row that gives a merchant or store another name or MCC than its first row did, code CONFLICTING_VALUE); 400 MALFORMED_CSV for missing columns or a column named twice, or an unterminated quote with the line it opens on in details (code UNTERMINATED_QUOTE); 409 STORE_BELONGS_TO_ANOTHER_MERCHANT or TERMINAL_BELONGS_TO_ANOTHER_STORE when the file would move a store or a terminal, or names two owners for one. An import beside another onboarding of the same rows (a retry whose first attempt has not answered yet) is answered as if it came after it: what the other created is kept, with no second key, and a store or terminal it put elsewhere is the 409 above.',
          security: adminAuth, requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } }, responses: { 200: { description: 'counts and the new terminals\' keys' }, ...errors(400, 401, 409, 415) } } },
    },
  };
}

const ERRORS: Record<number, string> = {
  400: 'VALIDATION_FAILED (details name each field and code) or MALFORMED_JSON',
  401: 'UNAUTHENTICATED',
  404: 'not found, or another merchant\'s',
  409: 'IDEMPOTENCY_CONFLICT: the key was used with another body',
  415: 'UNSUPPORTED_MEDIA_TYPE: a body that is not JSON (Content-Type: application/json); CSV_REQUIRED on /v1/admin/import, which takes text/csv; UNSUPPORTED_CONTENT_ENCODING: a compressed body (any Content-Encoding but identity)',
  422: 'a business rule, e.g. REFUND_EXCEEDS_PAID, PAYMENT_NOT_REFUNDABLE',
  429: 'RATE_LIMITED: more requests from this terminal in one second than the limit, reads and streams included (see Retry-After)',
  503: 'UNAVAILABLE; OVERLOADED while the platform sheds load; IDEMPOTENCY_UNAVAILABLE on a payment or refund while the store of their idempotency locks is unreachable (reads go on meanwhile). Retry the same request after Retry-After',
};
