/**
 * Writes docs/asyncapi.yaml (AsyncAPI 3.0) from the message catalog of libs/contracts: one channel per topic,
 * one message per type with the envelope and the JSON Schema of its `data` (zod's own conversion), and the
 * catalog's example. `npm run asyncapi` rewrites the file; `--check` fails when it is out of date.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { stringify } from 'yaml';
import { createEnvelope, envelopeSchema, MESSAGE_CATALOG, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';

/** the repository root, from the source (tools/) and from the build (dist/tools/) alike */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const ASYNCAPI_FILE = path.join(repositoryRoot(), 'docs', 'asyncapi.yaml');

const STREAMS: Record<keyof typeof TOPICS, { producer: string; consumers: string[]; description: string }> = {
  paymentCommands: { producer: 'terminal-gateway', consumers: ['payment-orchestrator'], description: 'What a POS asks for: pay, cancel, refund.' },
  alipayCommands: { producer: 'payment-orchestrator', consumers: ['alipay-connector'], description: 'The saga’s calls to Alipay AMS.' },
  alipayResults: { producer: 'alipay-connector', consumers: ['payment-orchestrator'], description: 'Alipay’s answers and verified notifications, classified S / F / U.' },
  paymentEvents: {
    producer: 'payment-orchestrator', consumers: ['terminal-gateway', 'notification', 'settlement'],
    description: 'Every change of a payment, with its whole public view and a per-payment sequence.',
  },
  settlementEvents: {
    producer: 'settlement', consumers: ['finance consumers', 'notification', 'payment-orchestrator (PaymentReviewResolved)'],
    description: 'Ledger postings, reconciliation verdicts, discrepancies, settled batches and reviews resolved from Alipay’s reports.',
  },
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

export function buildAsyncApi(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const envelope = jsonSchema(envelopeSchema.omit({ data: true, type: true }));
  for (const [key, topic] of Object.entries(TOPICS) as Array<[keyof typeof TOPICS, (typeof TOPICS)[keyof typeof TOPICS]]>) {
    const types = (MESSAGE_CATALOG as Record<string, Record<string, z.ZodType>>)[topic.name];
    if (!types) continue;
    const stream = STREAMS[key];
    const refs: Record<string, unknown> = {};
    for (const [type, schema] of Object.entries(types)) {
      const id = `${key}.${type}`;
      const example = createEnvelope({
        type, key: 'pay_01JDZ8X3', producer: stream.producer, data: (MESSAGE_EXAMPLES as Record<string, Record<string, unknown>>)[topic.name][type],
        id: '3b1f6c2e-8d4a-4c1b-9a57-2f0e6d8c1a90', occurredAt: new Date('2026-11-27T04:06:02.000Z'),
      });
      messages[id] = {
        name: type,
        title: type,
        contentType: 'application/json',
        headers: { type: 'object', properties: { traceparent: { type: 'string', description: 'W3C trace context' }, 'message-type': { type: 'string', const: type } } },
        payload: {
          allOf: [
            { $ref: '#/components/schemas/Envelope' },
            { type: 'object', required: ['type', 'data'], properties: { type: { type: 'string', const: type }, data: jsonSchema(schema) } },
          ],
        },
        examples: [{ name: `${type}Example`, payload: JSON.parse(JSON.stringify(example)) }],
      };
      refs[type] = { $ref: `#/components/messages/${id}` };
    }
    channels[key] = {
      address: topic.name,
      title: topic.name,
      description: `${stream.description} Keyed by the aggregate id (the payment id; a batch id for batch events); ${topic.partitions} partitions; failures go to \`${topic.name}.retry\`, then \`${topic.name}.dlt\`. Consumed by ${stream.consumers.join(', ')}.`,
      messages: refs,
    };
    operations[`${key}.send`] = {
      action: 'send',
      title: `${stream.producer} publishes on ${topic.name}`,
      channel: { $ref: `#/channels/${key}` },
      messages: Object.keys(refs).map((type) => ({ $ref: `#/channels/${key}/messages/${type}` })),
    };
    operations[`${key}.receive`] = {
      action: 'receive',
      title: `${stream.consumers.join(', ')} consume ${topic.name}`,
      channel: { $ref: `#/channels/${key}` },
      messages: Object.keys(refs).map((type) => ({ $ref: `#/channels/${key}/messages/${type}` })),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'UPM Platform streams',
      version: '1.0.0',
      description: 'Every message on Kafka, generated from libs/contracts (npm run asyncapi). Each message is an envelope; its `data` is validated against the schema here on consume, and a message that breaks it goes to the dead-letter topic.',
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/json',
    servers: { local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'the broker of `npm run up`' } },
    channels,
    operations,
    components: { schemas: { Envelope: envelope }, messages },
  };
}

export function renderAsyncApi(): string {
  return `# Generated by tools/asyncapi.ts from libs/contracts: do not edit, run \`npm run asyncapi\`.\n${stringify(buildAsyncApi(), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

if (require.main === module) {
  const text = renderAsyncApi();
  if (process.argv.includes('--check')) {
    const current = readFileSync(ASYNCAPI_FILE, 'utf8');
    if (current !== text) {
      process.stderr.write('docs/asyncapi.yaml is out of date: run npm run asyncapi\n');
      process.exit(1);
    }
  } else {
    writeFileSync(ASYNCAPI_FILE, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), ASYNCAPI_FILE)}\n`);
  }
}
