import type { z } from 'zod';
import { Envelope, envelopeSchema } from './envelope';
import { TOPICS, TopicName } from './topics';
import { alipayCommandsV1, alipayResultsV1 } from './messages/alipay.v1';
import { paymentCommandsV1 } from './messages/payments-commands.v1';
import { paymentEventsV1 } from './messages/payments-events.v1';
import { settlementEventsV1 } from './messages/settlement-events.v1';

/** Which message types each topic carries, with the schema of their `data`. */
export const MESSAGE_CATALOG = {
  [TOPICS.paymentCommands.name]: paymentCommandsV1,
  [TOPICS.alipayCommands.name]: alipayCommandsV1,
  [TOPICS.alipayResults.name]: alipayResultsV1,
  [TOPICS.paymentEvents.name]: paymentEventsV1,
  [TOPICS.settlementEvents.name]: settlementEventsV1,
} as const satisfies Partial<Record<TopicName, Record<string, z.ZodType>>>;

export type CatalogTopic = keyof typeof MESSAGE_CATALOG;
export type MessageType<T extends CatalogTopic> = keyof (typeof MESSAGE_CATALOG)[T] & string;
export type MessageData<T extends CatalogTopic, M extends MessageType<T>> = (typeof MESSAGE_CATALOG)[T][M] extends z.ZodType
  ? z.output<(typeof MESSAGE_CATALOG)[T][M]>
  : never;

/** A message that breaks its contract: never retried, it goes to the dead-letter topic with these issues. */
export class ContractViolation extends Error {
  readonly code = 'CONTRACTS.VIOLATION';
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(`${message}: ${issues.join('; ')}`);
    this.name = 'ContractViolation';
  }
}

/** Validates an envelope and its data against the catalog of the topic it came from. */
export function parseMessage(topic: string, raw: unknown): Envelope {
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) throw new ContractViolation('bad envelope', formatIssues(envelope.error));
  const types = (MESSAGE_CATALOG as Record<string, Record<string, z.ZodType>>)[topic];
  if (!types) throw new ContractViolation('unknown topic', [topic]);
  const schema = types[envelope.data.type];
  if (!schema) throw new ContractViolation('unknown message type', [`${envelope.data.type} on ${topic}`]);
  const data = schema.safeParse(envelope.data.data);
  if (!data.success) throw new ContractViolation(`bad ${envelope.data.type}`, formatIssues(data.error));
  return { ...envelope.data, data: data.data };
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
