import { z } from 'zod';
import { paymentEventsV1, settlementEventsV1 } from '@upm/contracts';
import { ID_MESSAGE, ID_PATTERN, isStorable, STORABLE_MESSAGE, storableText } from '@upm/shared-runtime';

/** What a merchant can subscribe to: every payment event, and the settlement events about one merchant. */
export const WEBHOOK_EVENT_TYPES = [
  ...Object.keys(paymentEventsV1),
  ...Object.keys(settlementEventsV1).filter((type) => type !== 'SettlementBatchSettled'),
] as [string, ...string[]];

const eventType = z.enum(['*', ...WEBHOOK_EVENT_TYPES], { message: `one of ${WEBHOOK_EVENT_TYPES.join(', ')}, or * for all` });

const endpointUrl = z
  .url({ protocol: /^https?$/, message: 'an http or https URL' })
  .max(2048)
  // a URL keeps such characters in its path or query as given
  .refine(isStorable, STORABLE_MESSAGE)
  // a user name or password in the URL would be sent, logged and shown with every attempt; the signature authenticates the platform
  .refine((url) => !new URL(url).username && !new URL(url).password, 'a URL without a user name or password');
const eventTypes = z.array(eventType).min(1).max(WEBHOOK_EVENT_TYPES.length + 1).transform((types) => [...new Set(types)]);
const description = storableText(256);

export const createEndpointBody = z.object({ url: endpointUrl, eventTypes, description: description.optional() }).strict();

/** What a change may set: any of these, at least one; `description: null` removes it. */
export const updateEndpointBody = z
  .object({ url: endpointUrl.optional(), eventTypes: eventTypes.optional(), description: description.nullable().optional(), enabled: z.boolean().optional() })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'at least one of url, eventTypes, description, enabled');

export const rotateSecretBody = z.object({ overlapSeconds: z.number().int().min(0).max(7 * 86_400).optional() }).strict();

// strict: a misspelt filter (`?payment_id=`) is refused, not ignored into a listing of everything
export const deliveriesQuery = z
  .object({
    status: z.enum(['PENDING', 'HELD', 'DELIVERED', 'DEAD_LETTER', 'CANCELLED']).optional(),
    paymentId: storableText(128).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    /** the last deliveryId of the previous page: the listing goes on with older ones */
    before: storableText(64).optional(),
  })
  .strict();

export const merchantIdParam = z.string().regex(ID_PATTERN, ID_MESSAGE);

/** Which dead-lettered deliveries to send again at once: all of the endpoint's, or those of one payment or since a time. */
export const redeliverDeadLettersBody = z
  .object({
    paymentId: storableText(128).optional(),
    // ISO 8601 has a year 0, PostgreSQL's timestamps do not
    since: z.iso.datetime({ offset: true }).refine((time) => !time.startsWith('0000'), 'a time from the year 1 on').optional(),
  })
  .strict();
