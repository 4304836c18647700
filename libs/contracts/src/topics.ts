/**
 * The one list of Kafka streams. Every topic is keyed by the aggregate id (the payment id), so a
 * consumer sees one payment's messages in order. `<topic>.retry` and `<topic>.dlt` exist for each.
 */
export const TOPICS = {
  paymentCommands: { name: 'payments.v1.commands', partitions: 12 },
  alipayCommands: { name: 'alipay.v1.commands', partitions: 12 },
  alipayResults: { name: 'alipay.v1.results', partitions: 12 },
  paymentEvents: { name: 'payments.v1.events', partitions: 12 },
  settlementEvents: { name: 'settlement.v1.events', partitions: 6 },
} as const;

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey]['name'];

export const retryTopic = (topic: string): string => `${topic}.retry`;
export const deadLetterTopic = (topic: string): string => `${topic}.dlt`;

/** Every topic the platform needs, with its retry and dead-letter companions, optionally under a prefix (tests). */
export function allTopics(prefix = ''): Array<{ name: string; partitions: number }> {
  return Object.values(TOPICS).flatMap(({ name, partitions }) => [
    { name: prefix + name, partitions },
    { name: prefix + retryTopic(name), partitions },
    { name: prefix + deadLetterTopic(name), partitions: 1 },
  ]);
}
