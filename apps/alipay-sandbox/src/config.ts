import { z } from 'zod';
import { commonEnv, defineConfig, env } from '@upm/shared-config';
import { parseFixedFees } from '@upm/contracts';
import { DEFAULT_SANDBOX_SETTINGS as DEFAULTS, FX_CURRENCIES, PreconfiguredClient, SandboxFees, SandboxSettings } from '@upm/sandbox';

/** `clientId=<PEM file path or Base64 DER public key>[,…]` */
const clients = z
  .string()
  .regex(/^\s*[A-Za-z0-9_.-]+=[^,\s]+(\s*,\s*[A-Za-z0-9_.-]+=[^,\s]+)*\s*$/, 'clientId=<public key file or Base64 DER>[,…]')
  .default('')
  .transform((value): PreconfiguredClient[] =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const at = entry.indexOf('=');
        return { clientId: entry.slice(0, at), publicKey: entry.slice(at + 1) };
      }),
  );

/** `USD` or `USD,HKD`: the contract's settlement currencies, each one the sandbox has a rate for */
const settlementCurrencies = z
  .string()
  .default('')
  .transform((value) => [...new Set(value.split(',').map((c) => c.trim()).filter(Boolean))])
  .refine((currencies) => currencies.every((c) => FX_CURRENCIES.includes(c)), `comma-separated, each one of ${FX_CURRENCIES.join(', ')}`);

/**
 * `10` (every currency) or `HKD:100,JPY:1` (per currency, at most one bare figure for the others): the fixed part
 * of the fee, minor units, in the form settlement's SETTLEMENT_FEE_MINOR takes
 */
const fixedFees = z
  .string()
  .default(String(DEFAULTS.fees.feeMinor))
  .transform((text, ctx) => {
    const fees = parseFixedFees(text);
    if ('problem' in fees) {
      ctx.addIssue({ code: 'custom', message: fees.problem });
      return z.NEVER;
    }
    return fees;
  });

/** Every environment variable alipay-sandbox reads. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3010),
    ...commonEnv,
    SANDBOX_LATENCY_MS: env.int(DEFAULTS.latencyMs),
    SANDBOX_TIME_FACTOR: env.int(DEFAULTS.timeFactor, 1),
    SANDBOX_REPORT_DIR: env.string(DEFAULTS.reportDir),
    SANDBOX_REPORT_MAX_ROWS: env.int(DEFAULTS.reportMaxRows, 1),
    SANDBOX_REPORT_OPEN_DAYS: env.bool(DEFAULTS.reportOpenDays),
    SANDBOX_REPORT_DELIVERY: env.bool(DEFAULTS.reportDelivery),
    SANDBOX_REPORT_DELIVERY_DELAY_MS: env.int(DEFAULTS.reportDeliveryDelayMs),
    SANDBOX_HANG_MS: env.int(DEFAULTS.hangMs),
    SANDBOX_PIN_DELAY_MS: env.int(DEFAULTS.pinDelayMs),
    SANDBOX_PRIVATE_KEY: z.string().min(1).optional(),
    SANDBOX_PRIVATE_KEY_FILE: z.string().min(1).optional(),
    SANDBOX_CLIENTS: clients,
    SANDBOX_CUSTOMER_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default(DEFAULTS.customerId),
    SANDBOX_NOTIFY_FAILURES: env.bool(DEFAULTS.notifyFailures),
    SANDBOX_NOTIFY_TIMEOUT_MS: env.int(DEFAULTS.notifyTimeoutMs, 1),
    SANDBOX_SINGLE_USE_CODES: env.bool(DEFAULTS.singleUseCodes),
    SANDBOX_REFUND_WINDOW_DAYS: env.int(DEFAULTS.refundWindowDays, 1),
    SANDBOX_SETTLEMENT_CURRENCY: settlementCurrencies,
    /** the rate part of the fee, basis points of the gross (220 = 2.2 %) */
    SANDBOX_FEE_RATE_BPS: z.coerce.number().int().min(0).max(10_000).default(DEFAULTS.fees.feeRateBps),
    SANDBOX_FEE_MINOR: fixedFees,
  },
  (e) => ({
    service: 'alipay-sandbox',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    sandbox: {
      latencyMs: e.SANDBOX_LATENCY_MS,
      timeFactor: e.SANDBOX_TIME_FACTOR,
      reportDir: e.SANDBOX_REPORT_DIR,
      reportMaxRows: e.SANDBOX_REPORT_MAX_ROWS,
      reportOpenDays: e.SANDBOX_REPORT_OPEN_DAYS,
      reportDelivery: e.SANDBOX_REPORT_DELIVERY,
      reportDeliveryDelayMs: e.SANDBOX_REPORT_DELIVERY_DELAY_MS,
      hangMs: e.SANDBOX_HANG_MS,
      pinDelayMs: e.SANDBOX_PIN_DELAY_MS,
      // the inline key wins over the file
      privateKey: e.SANDBOX_PRIVATE_KEY ?? e.SANDBOX_PRIVATE_KEY_FILE,
      clients: e.SANDBOX_CLIENTS,
      customerId: e.SANDBOX_CUSTOMER_ID,
      notifyFailures: e.SANDBOX_NOTIFY_FAILURES,
      notifyTimeoutMs: e.SANDBOX_NOTIFY_TIMEOUT_MS,
      singleUseCodes: e.SANDBOX_SINGLE_USE_CODES,
      refundWindowDays: e.SANDBOX_REFUND_WINDOW_DAYS,
      settlementCurrencies: e.SANDBOX_SETTLEMENT_CURRENCY,
      fees: { feeRateBps: e.SANDBOX_FEE_RATE_BPS, ...e.SANDBOX_FEE_MINOR } satisfies SandboxFees,
    } satisfies SandboxSettings,
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
