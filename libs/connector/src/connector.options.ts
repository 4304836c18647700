export const CONNECTOR_OPTIONS = Symbol('CONNECTOR_OPTIONS');

export interface ConnectorOptions {
  /** the URL Alipay posts notifyPayment / notifyRefund to (must reach this service's webhook path) */
  notifyUrl?: string;
  /** the path Alipay signs its notifications over (see `signedNotifyPath`) */
  notifyPath: string;
  maxConcurrency: number;
  /** how many days a kept unread notification stays after Alipay last sent it (default 30) */
  unparsableRetentionDays?: number;
}

/**
 * The path Alipay signs a notification over: the notify URL it was given, scheme and host left out, query
 * string kept (spec §2.5, §2.6). Without a notify URL, the webhook's own path.
 */
export function signedNotifyPath(notifyUrl: string | undefined): string {
  if (!notifyUrl) return '/alipay/notify';
  const url = new URL(notifyUrl);
  return `${url.pathname}${url.search}`;
}
