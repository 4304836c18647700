/** The AMS payment APIs used for User-Presented Mode, by the last segment of their path. */
export const AMS_APIS = ['pay', 'inquiryPayment', 'cancel', 'refund', 'inquiryRefund'] as const;
export type AmsApi = (typeof AMS_APIS)[number];

const PRODUCTION_PREFIX = '/ams/api/v1/payments/';
const SANDBOX_PREFIX = '/ams/sandbox/api/v1/payments/';

/** Sandbox client ids start with `SANDBOX_`; Alipay's SDKs then call (and sign) the `/ams/sandbox/api` paths. */
export function isSandboxClientId(clientId: string): boolean {
  return clientId.startsWith('SANDBOX_');
}

export function amsPath(api: AmsApi, sandbox: boolean): string {
  return `${sandbox ? SANDBOX_PREFIX : PRODUCTION_PREFIX}${api}`;
}

/** The API a request path names, for either path variant; undefined for anything else. */
export function apiOfPath(path: string): { api: AmsApi; sandbox: boolean } | undefined {
  const pathname = path.split('?')[0];
  for (const [prefix, sandbox] of [[PRODUCTION_PREFIX, false], [SANDBOX_PREFIX, true]] as const) {
    if (!pathname.startsWith(prefix)) continue;
    const api = AMS_APIS.find((name) => name === pathname.slice(prefix.length));
    return api ? { api, sandbox } : undefined;
  }
  return undefined;
}
