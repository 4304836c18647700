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

/** Masks a payment code anywhere inside a free-text string (e.g. a raw AMS body kept for audit). */
export function maskCodesInText(text: string): string {
  return text.replace(/\b(2[5-9]|30)(\d{4})(\d{6,22})(\d{4})\b/g, (_m, a: string, b: string, mid: string, d: string) => `${a}${b}${'*'.repeat(mid.length)}${d}`);
}
