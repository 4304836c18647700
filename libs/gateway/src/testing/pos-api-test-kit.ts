/**
 * What the integration tests of the POS API share: a gateway module served over HTTP as the service serves it, a
 * POS calling it, fresh terminals and orders, and the orchestrator's side played by applying its events to the read
 * model as the gateway's consumer does.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DataSource } from 'typeorm';
import { createEnvelope, Money, PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { configureGatewayHttp } from '../http/configure-http';
import { PaymentUpdates } from '../payments/payment-updates';
import { PaymentsService } from '../payments/payments.service';
import { RegistryService } from '../registry/registry.service';

/** A gateway replica serving `module` on a free loopback port, with the service's HTTP setup. */
export async function serveGateway(module: Type): Promise<{ app: NestExpressApplication; baseUrl: string }> {
  const app = await NestFactory.create<NestExpressApplication>(module, { logger: false });
  configureGatewayHttp(app);
  await app.listen(0, '127.0.0.1');
  return { app, baseUrl: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}` };
}

/** An HTTP answer: its status, its Retry-After when it has one, and its JSON body. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  retryAfter?: string;
  body: T;
}

export const hkd = (value: string): Money => ({ currency: 'HKD', value });

export interface PosApiTestKit {
  /** a JSON request with the terminal's (or the admin's) key */
  call<T = Record<string, unknown>>(method: string, path: string, key: string, body?: unknown): Promise<Answer<T>>;
  /** a fresh merchant with one store and one terminal: its key */
  newTerminal(): Promise<string>;
  /** a new payment's body (an order never used, a code the sandbox pays at once), answered without waiting */
  paymentBody(): { merchantOrderId: string; amount: Money; paymentCode: string; waitSeconds: number };
  /** applies one of the orchestrator's payments.v1.events to the read model, and wakes its waiters if the kit does */
  apply(type: string, payment: PaymentViewV1, refund?: RefundViewV1): Promise<void>;
}

/**
 * The kit of one suite, over the gateway it serves (read when a helper runs: the suite starts it in `beforeAll`).
 * `name` tells its merchants, terminals and orders from other suites'; `wake` publishes each applied event's
 * wake-up as the consumer does (a suite that cuts Redis leaves it out, to show what the gateway does without).
 */
export function posApiTestKit(gateway: () => { app: NestExpressApplication; baseUrl: string; dataSource: DataSource }, name: string, { wake }: { wake: boolean }): PosApiTestKit {
  let terminals = 0;
  let orders = 0;
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  return {
    async call<T>(method: string, path: string, key: string, body?: unknown): Promise<Answer<T>> {
      const response = await fetch(`${gateway().baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const retryAfter = response.headers.get('retry-after');
      return { status: response.status, ...(retryAfter === null ? {} : { retryAfter }), body: (await response.json()) as T };
    },
    async newTerminal() {
      const registry = gateway().app.get(RegistryService);
      const merchant = await registry.createMerchant({ name, mcc: '5411' });
      const store = await registry.createStore(merchant.id, { name: `${name} store`, mcc: '5411' });
      return (await registry.createTerminal(store.id, { id: `ter_${slug}_${terminals++}` })).key;
    },
    paymentBody: () => ({ merchantOrderId: `${slug.replace(/_/g, '-')}-${Date.now()}-${orders++}`, amount: hkd('1000'), paymentCode: '281012020000000000000000', waitSeconds: 0 }),
    async apply(type, payment, refund) {
      const { app, dataSource } = gateway();
      const envelope = createEnvelope({ type, key: payment.paymentId, data: refund ? { payment, refund } : { payment }, producer: 'payment-orchestrator', correlationId: payment.paymentId });
      await dataSource.transaction((manager) => app.get(PaymentsService).applyEvent(manager, envelope));
      if (wake) await app.get(PaymentUpdates).publish(payment);
    },
  };
}
