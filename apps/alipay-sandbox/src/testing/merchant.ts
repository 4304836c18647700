import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { AmsClient, AmsClientOptions, PayRequest, UpmPayInput } from '@upm/alipay';

export interface Merchant {
  clientId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function newMerchant(clientId: string): Merchant {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { clientId, privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Registers the merchant with the sandbox over HTTP and answers a client for it. */
export async function connect(sandboxUrl: string, merchant: Merchant, options: Partial<AmsClientOptions> = {}): Promise<AmsClient> {
  const registered = await fetch(`${sandboxUrl}/sandbox/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId: merchant.clientId, publicKey: merchant.publicKeyPem }),
  });
  if (registered.status !== 201) throw new Error(`registration failed: ${registered.status} ${await registered.text()}`);
  const alipayPublicKey = await (await fetch(`${sandboxUrl}/sandbox/alipay-public-key`)).text();
  return new AmsClient({
    baseUrl: sandboxUrl,
    credentials: { clientId: merchant.clientId, privateKey: merchant.privateKey, alipayPublicKey },
    timeoutMs: 5000,
    ...options,
  });
}

let sequence = 0;

/** A unique paymentRequestId for this test run. */
export function requestId(prefix = 'PR'): string {
  sequence += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${sequence}`;
}

let codes = 0;

/**
 * A fresh 24-digit Alipay+ code (issuer 281012, business type 02, a user number of its own) ending in the
 * scenario digits: a code pays once (SANDBOX_SINGLE_USE_CODES).
 */
export function codeEnding(digits: string): string {
  codes += 1;
  return `28101202${String(codes).padStart(14, '0')}${digits}`;
}

/** A pay body as another payment of the same scenario: its own paymentRequestId and a fresh code. */
export function anotherPay(body: PayRequest): PayRequest {
  return { ...body, paymentRequestId: requestId(), paymentMethod: { ...body.paymentMethod, paymentMethodId: codeEnding(body.paymentMethod.paymentMethodId.slice(-2)) } };
}

export function payInput(overrides: Partial<UpmPayInput> & { scenario?: string } = {}): UpmPayInput {
  const { scenario = '00', ...rest } = overrides;
  return {
    paymentRequestId: requestId(),
    paymentCode: codeEnding(scenario),
    amount: { currency: 'HKD', value: '1250' },
    referenceOrderId: `ORD-${sequence}`,
    orderDescription: '2 x coffee',
    merchant: {
      referenceMerchantId: 'M-001',
      merchantName: 'Harbour Coffee',
      merchantMCC: '5812',
      store: { referenceStoreId: 'S-001', storeName: 'Harbour Coffee Central', storeMCC: '5812' },
    },
    env: { storeTerminalId: 'POS-07', storeTerminalRequestTime: '2026-11-27T10:00:00+08:00' },
    ...rest,
  };
}
