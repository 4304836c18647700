import { z } from 'zod';

/** Every Kafka message is one envelope; `key` is the aggregate id and equals the Kafka message key. */
export const envelopeSchema = z.object({
  id: z.string().min(1).max(64),
  type: z.string().regex(/^[A-Z][A-Za-z0-9]+$/),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1).max(128),
  causationId: z.string().min(1).max(128).nullable(),
  producer: z.string().min(1).max(64),
  key: z.string().min(1).max(128),
  data: z.unknown(),
});

export type Envelope<TData = unknown, TType extends string = string> = Omit<z.infer<typeof envelopeSchema>, 'data' | 'type'> & {
  type: TType;
  data: TData;
};

export interface EnvelopeInit<TData, TType extends string> {
  type: TType;
  key: string;
  data: TData;
  producer: string;
  /** the message that caused this one; its id becomes causationId and its correlationId is kept */
  cause?: Pick<Envelope, 'id' | 'correlationId'>;
  correlationId?: string;
  id?: string;
  occurredAt?: Date;
  version?: number;
}

export function createEnvelope<TData, TType extends string>(init: EnvelopeInit<TData, TType>): Envelope<TData, TType> {
  const id = init.id ?? newMessageId();
  return {
    id,
    type: init.type,
    version: init.version ?? 1,
    occurredAt: (init.occurredAt ?? new Date()).toISOString(),
    correlationId: init.cause?.correlationId ?? init.correlationId ?? id,
    causationId: init.cause?.id ?? null,
    producer: init.producer,
    key: init.key,
    data: init.data,
  };
}

export function newMessageId(): string {
  return globalThis.crypto.randomUUID();
}
