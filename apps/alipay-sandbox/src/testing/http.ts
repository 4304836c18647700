import type { PaymentView, ReportListing } from '@upm/sandbox';

/** GET /sandbox/payments/{paymentRequestId} */
export async function paymentView(sandboxUrl: string, paymentRequestId: string): Promise<PaymentView> {
  return (await fetch(`${sandboxUrl}/sandbox/payments/${paymentRequestId}`)).json() as Promise<PaymentView>;
}

/** POST /sandbox/reports */
export async function requestReports(sandboxUrl: string, date: string): Promise<{ status: number; body: ReportListing; retryAfter: string | null }> {
  const response = await fetch(`${sandboxUrl}/sandbox/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ date }) });
  return { status: response.status, body: (await response.json()) as ReportListing, retryAfter: response.headers.get('retry-after') };
}

/** POST a JSON body to one of the sandbox's own endpoints. */
export async function postJson<T>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as T };
}
