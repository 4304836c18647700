/**
 * A POS simulator for store integrators: `npm run pos -- <command>`.
 *
 *   setup [--name "Harbour Coffee"]            onboard a merchant, store and terminal (admin token) and keep its key
 *   pay --amount 12.50 --currency HKD --code 281012020000000000000000 [--order ID] [--wait 20]
 *   get <paymentId> [--wait 20]                 long-polls while the payment is PROCESSING
 *   lookup --order <merchantOrderId>
 *   cancel <paymentId>
 *   refund <paymentId> --amount 5.00 [--request-id R-1]
 *   demo                                        a few payments across the sandbox's scenarios
 *
 * GATEWAY_URL (http://127.0.0.1:3000), ADMIN_TOKEN (dev-admin-token) and POS_TERMINAL_KEY (else the key
 * `setup` saved in deploy/local/.state/pos.json) configure it. Amounts are typed in major units, as a cashier would.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fromMajorUnits, toMajorUnits } from '@upm/contracts';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:3000';
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? 'dev-admin-token';
const SAVED = path.resolve(__dirname, '../../deploy/local/.state/pos.json');

type Json = Record<string, unknown>;

function option(args: string[], name: string, fallback?: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

async function call(method: string, url: string, token: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: Json }> {
  const response = await fetch(GATEWAY + url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

async function setup(name: string): Promise<string> {
  const merchant = await call('POST', '/v1/admin/merchants', ADMIN_TOKEN, { name, mcc: '5812' });
  if (merchant.status !== 201) throw new Error(`creating the merchant: ${JSON.stringify(merchant.body)}`);
  const store = await call('POST', `/v1/admin/merchants/${merchant.body.merchantId}/stores`, ADMIN_TOKEN, { name: `${name} Central`, mcc: '5812' });
  const terminal = await call('POST', `/v1/admin/stores/${store.body.storeId}/terminals`, ADMIN_TOKEN, {});
  mkdirSync(path.dirname(SAVED), { recursive: true });
  writeFileSync(SAVED, JSON.stringify({ gateway: GATEWAY, ...terminal.body }, null, 2), { mode: 0o600 });
  console.log(`terminal ${terminal.body.terminalId} of merchant ${merchant.body.merchantId}; its key is kept in ${path.relative(process.cwd(), SAVED)}`);
  return String(terminal.body.key);
}

async function terminalKey(): Promise<string> {
  if (process.env.POS_TERMINAL_KEY) return process.env.POS_TERMINAL_KEY;
  if (existsSync(SAVED)) {
    const saved = JSON.parse(readFileSync(SAVED, 'utf8')) as { gateway: string; key: string };
    if (saved.gateway === GATEWAY) return saved.key;
  }
  return setup('Demo Coffee');
}

function show(answer: { status: number; body: Json }): void {
  const p = answer.body;
  if (p.error) {
    console.log(`HTTP ${answer.status} ${JSON.stringify(p.error)}`);
    return;
  }
  const amount = p.amount as { currency: string; value: string } | undefined;
  const money = amount ? `${toMajorUnits(amount.value, amount.currency)} ${amount.currency}` : '';
  const failure = p.failure ? ` (${(p.failure as { code: string }).code})` : '';
  console.log(`HTTP ${answer.status}  ${p.refundId ?? p.paymentId}  ${p.status}${failure}  ${money}`);
}

function minor(amount: string, currency: string): string {
  return fromMajorUnits(amount, currency).toString();
}

async function demo(key: string): Promise<void> {
  const user = String(Date.now()).slice(-14);
  const pay = (suffix: string, waitSeconds: number) =>
    call('POST', '/v1/payments', key, { merchantOrderId: `DEMO-${Date.now()}-${suffix}`, amount: { currency: 'HKD', value: '1250' }, paymentCode: `28101202${user}${suffix}`, waitSeconds });
  const line = (what: string) => process.stdout.write(`  ${what.padEnd(50)}`);

  line('immediate success');
  const first = await pay('00', 20);
  show(first);
  line('customer enters a PIN, then pays');
  show(await pay('80', 20));
  line('balance not enough');
  show(await pay('85', 20));
  line('wallet does not answer; the cashier aborts');
  const stuck = await pay('82', 1);
  show(await call('POST', `/v1/payments/${stuck.body.paymentId}/cancel`, key, { waitSeconds: 20 }));
  line('refund 5.00 of the first');
  show(await call('POST', `/v1/payments/${first.body.paymentId}/refunds`, key, { refundRequestId: `DEMO-R-${Date.now()}`, amount: { currency: 'HKD', value: '500' } }));
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'setup':
      await setup(option(args, 'name', 'Demo Coffee')!);
      return;
    case 'pay': {
      const currency = option(args, 'currency', 'HKD')!;
      const amount = option(args, 'amount');
      const code = option(args, 'code');
      if (!amount || !code) throw new Error('pay needs --amount and --code');
      show(await call('POST', '/v1/payments', await terminalKey(), {
        merchantOrderId: option(args, 'order', `POS-${Date.now()}`), amount: { currency, value: minor(amount, currency) }, paymentCode: code, waitSeconds: Number(option(args, 'wait', '20')),
      }));
      return;
    }
    case 'get':
      show(await call('GET', `/v1/payments/${args[0]}?waitSeconds=${option(args, 'wait', '0')}&ifStatus=PROCESSING`, await terminalKey()));
      return;
    case 'lookup':
      show(await call('GET', `/v1/payments?merchantOrderId=${encodeURIComponent(option(args, 'order', '')!)}`, await terminalKey()));
      return;
    case 'cancel':
      show(await call('POST', `/v1/payments/${args[0]}/cancel`, await terminalKey(), { waitSeconds: 20 }));
      return;
    case 'refund': {
      const key = await terminalKey();
      const payment = await call('GET', `/v1/payments/${args[0]}`, key);
      const currency = (payment.body.amount as { currency: string } | undefined)?.currency ?? 'HKD';
      show(await call('POST', `/v1/payments/${args[0]}/refunds`, key, { refundRequestId: option(args, 'request-id', `R-${Date.now()}`), amount: { currency, value: minor(option(args, 'amount', '0')!, currency) } }));
      return;
    }
    case 'demo':
      await demo(await terminalKey());
      return;
    default:
      console.log(readFileSync(__filename, 'utf8').split('*/')[0].replace(/^\/\*\*?|^ \* ?/gm, ''));
      process.exit(command && command !== 'help' ? 2 : 0);
  }
}

main().catch((error: unknown) => {
  console.error(`pos: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
