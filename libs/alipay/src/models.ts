import type { Money } from '@upm/contracts';

/**
 * AMS wire shapes for User-Presented Mode (spec §3–§9). Every scalar is a JSON string; amounts are minor
 * units. Optional fields are omitted, never sent empty.
 */
export type ResultStatus = 'S' | 'F' | 'U';
export type Outcome = ResultStatus;

export interface AmsResult {
  resultCode: string;
  resultStatus: ResultStatus;
  resultMessage: string;
}

export type Amount = Money;

export interface Quote {
  quoteId?: string;
  quoteCurrencyPair?: string;
  quotePrice?: number | string;
  quoteStartTime?: string;
  quoteExpiryTime?: string;
  guaranteed?: boolean;
}

export interface PspCustomerInfo {
  pspName?: string;
  pspCustomerId?: string;
  displayCustomerId?: string;
  displayCustomerName?: string;
}

export interface Store {
  referenceStoreId: string;
  storeName: string;
  storeMCC: string;
  storeDisplayName?: string;
  storeTerminalId?: string;
  storeOperatorId?: string;
  storePhoneNo?: string;
}

export interface Merchant {
  referenceMerchantId: string;
  merchantMCC: string;
  merchantName: string;
  merchantDisplayName?: string;
  merchantRegisterDate?: string;
  store: Store;
}

export interface Env {
  storeTerminalId: string;
  /** ISO-8601 with offset */
  storeTerminalRequestTime: string;
}

export interface Order {
  referenceOrderId: string;
  orderDescription: string;
  orderAmount: Amount;
  merchant: Merchant;
  env: Env;
}

export interface PayRequest {
  productCode: 'IN_STORE_PAYMENT';
  paymentRequestId: string;
  order: Order;
  paymentAmount: Amount;
  paymentMethod: { paymentMethodType: 'CONNECT_WALLET'; paymentMethodId: string };
  paymentFactor: { inStorePaymentScenario: 'PaymentCode' };
  paymentNotifyUrl?: string;
  paymentExpiryTime?: string;
  settlementStrategy?: { settlementCurrency: string };
  merchantRegion?: string;
  merchantAccountId?: string;
  extendInfo?: string;
}

interface ResponseBase {
  result: AmsResult;
}

interface PaymentFacts {
  paymentRequestId?: string;
  paymentId?: string;
  paymentAmount?: Amount;
  paymentCreateTime?: string;
  paymentTime?: string;
  actualPaymentAmount?: Amount;
  paymentQuote?: Quote;
  grossSettlementAmount?: Amount;
  settlementQuote?: Quote;
  pspCustomerInfo?: PspCustomerInfo;
  nonGuaranteeCouponAmount?: Amount;
  extendInfo?: string;
}

export type PayResponse = ResponseBase & PaymentFacts;

export interface InquiryPaymentRequest {
  paymentRequestId?: string;
  paymentId?: string;
  merchantAccountId?: string;
}

export type PaymentStatus = 'SUCCESS' | 'FAIL' | 'PROCESSING' | 'CANCELLED' | 'PENDING';

export type InquiryPaymentResponse = ResponseBase &
  PaymentFacts & {
    /** present when the inquiry call succeeded */
    paymentStatus?: PaymentStatus;
    paymentResultCode?: string;
    paymentResultMessage?: string;
  };

export interface CancelRequest {
  paymentRequestId?: string;
  paymentId?: string;
  merchantAccountId?: string;
}

export interface CancelResponse extends ResponseBase {
  paymentId?: string;
  paymentRequestId?: string;
  cancelTime?: string;
}

export interface RefundRequest {
  refundRequestId: string;
  paymentId: string;
  refundAmount: Amount;
  referenceRefundId?: string;
  refundReason?: string;
  refundNotifyUrl?: string;
  refundRequestTime?: string;
  merchantAccountId?: string;
  extendInfo?: string;
}

export interface RefundResponse extends ResponseBase {
  refundRequestId?: string;
  refundId?: string;
  paymentId?: string;
  refundAmount?: Amount;
  refundTime?: string;
  grossSettlementAmount?: Amount;
  settlementQuote?: Quote;
  acquirerReferenceNo?: string;
}

export interface InquiryRefundRequest {
  refundRequestId?: string;
  refundId?: string;
  merchantAccountId?: string;
}

export type RefundStatus = 'SUCCESS' | 'FAIL' | 'PROCESSING';

export interface InquiryRefundResponse extends ResponseBase {
  refundId?: string;
  refundRequestId?: string;
  refundAmount?: Amount;
  refundStatus?: RefundStatus;
  refundTime?: string;
  grossSettlementAmount?: Amount;
  settlementQuote?: Quote;
}

/** notifyPayment body (in-store). `result` is the payment's result: S, or F with the reason. */
export type PaymentNotification = PaymentFacts & {
  notifyType: 'PAYMENT_RESULT';
  result: AmsResult;
  paymentRequestId: string;
  paymentId: string;
  paymentAmount: Amount;
  paymentStatus?: PaymentStatus;
  acquirerReferenceNo?: string;
};

/** notifyRefund body. */
export interface RefundNotification {
  notifyType: 'REFUND_RESULT';
  result: AmsResult;
  refundStatus?: 'SUCCESS' | 'FAIL';
  refundRequestId: string;
  refundId?: string;
  paymentId?: string;
  refundAmount: Amount;
  refundTime?: string;
  grossSettlementAmount?: Amount;
  settlementQuote?: Quote;
}

export type AmsNotification = PaymentNotification | RefundNotification;

/** The request body each API takes, and the body it answers with. */
export interface AmsApiTypes {
  pay: { request: PayRequest; response: PayResponse };
  inquiryPayment: { request: InquiryPaymentRequest; response: InquiryPaymentResponse };
  cancel: { request: CancelRequest; response: CancelResponse };
  refund: { request: RefundRequest; response: RefundResponse };
  inquiryRefund: { request: InquiryRefundRequest; response: InquiryRefundResponse };
}
