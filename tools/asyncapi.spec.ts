import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { MESSAGE_CATALOG } from '@upm/contracts';
import { ASYNCAPI_FILE, buildAsyncApi, renderAsyncApi } from './asyncapi';

describe('docs/asyncapi.yaml', () => {
  it('is what the catalog generates (run `npm run asyncapi` after changing a message)', () => {
    expect(readFileSync(ASYNCAPI_FILE, 'utf8')).toBe(renderAsyncApi());
  });

  it('describes every topic and message type of the catalog', () => {
    const doc = parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as { channels: Record<string, { address: string; messages: Record<string, unknown> }> };
    const described = Object.values(doc.channels).flatMap((c) => Object.keys(c.messages).map((type) => `${c.address} ${type}`)).sort();
    const catalog = Object.entries(MESSAGE_CATALOG).flatMap(([topic, types]) => Object.keys(types).map((type) => `${topic} ${type}`)).sort();
    expect(described).toEqual(catalog);
    expect(described).toEqual(expect.arrayContaining(['settlement.v1.events SettlementBatchSettled', 'settlement.v1.events DiscrepancyDetected']));
  });

  it('gives each message the JSON Schema of its data', () => {
    const messages = (buildAsyncApi().components as { messages: Record<string, { payload: { allOf: Array<{ properties?: { data?: { required?: string[] } } }> } }> }).messages;
    const batch = messages['settlementEvents.SettlementBatchSettled'].payload.allOf[1].properties!.data!;
    expect(batch.required).toEqual(expect.arrayContaining(['settlementBatchId', 'gross', 'fees', 'net', 'currency', 'fx', 'transactionIds']));
  });
});
