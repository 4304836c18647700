/**
 * The one list of what never reaches a log line: payment codes, keys, tokens, signatures and secrets.
 * pino paths: `*.x` matches one level deep, so the common nestings are listed too.
 */
const SECRET_FIELDS = [
  'paymentCode', 'paymentMethodId', 'privateKey', 'secret', 'password', 'token', 'apiKey', 'terminalKey',
  'signature', 'authorization', 'cookie', 'adminToken', 'webhookSecret',
];

export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  ...SECRET_FIELDS.map((field) => `*.*.${field}`),
  'req.headers.authorization',
  'req.headers.signature',
  'req.headers.cookie',
  'res.headers.signature',
  'paymentMethod.paymentMethodId',
  '*.paymentMethod.paymentMethodId',
];

/**
 * What an error from the database carries of a statement's values, dropped from every logged error (see
 * `createLogger`): TypeORM's `parameters` (an outbox insert's include the `Pay` command, payment code and all)
 * and the `driverError` it wraps; PostgreSQL's `detail`, which quotes a key or the whole failing row
 * (`Key (id)=(…) already exists`, `Failing row contains (…)`), and `where`, which can quote the input
 * (`JSON data, line 1: …`). What stays says what failed: type, message, code, constraint, table, column, query.
 */
export const ERROR_VALUE_FIELDS: readonly string[] = ['parameters', 'driverError', 'detail', 'where'];

/** Masks a payment code anywhere inside a free-text string (e.g. a raw AMS body kept for audit). */
export function maskCodesInText(text: string): string {
  return text.replace(/\b(2[5-9]|30)(\d{4})(\d{6,22})(\d{4})\b/g, (_m, a: string, b: string, mid: string, d: string) => `${a}${b}${'*'.repeat(mid.length)}${d}`);
}
