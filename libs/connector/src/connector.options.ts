export const CONNECTOR_OPTIONS = Symbol('CONNECTOR_OPTIONS');

export interface ConnectorOptions {
  /** the URL Alipay posts notifyPayment / notifyRefund to (must reach this service's webhook path) */
  notifyUrl?: string;
  /** the path this service serves the webhook on */
  notifyPath: string;
  maxConcurrency: number;
}
