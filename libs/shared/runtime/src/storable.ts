import { z } from 'zod';

/** The shape of every id the platform's APIs take or make: a POS's order and refund ids, registry, payment and endpoint ids. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const ID_MESSAGE = '1–64 characters of A–Z, a–z, 0–9, _ and -';

/** Whether a path id could name anything: one that could not is answered as not found, before any lookup. */
export const isId = (value: string) => ID_PATTERN.test(value);

/** Whether PostgreSQL can store the text, in a column, in jsonb or as a query's parameter: no NUL character, no half of a surrogate pair. */
export const isStorable = (value: string) => !value.includes('\u0000') && !/\p{Cs}/u.test(value);
export const STORABLE_MESSAGE = 'no NUL character or unpaired surrogate';

/** Text of 1 to `max` characters that PostgreSQL can store. */
export const storableText = (max: number) => z.string().min(1).max(max).refine(isStorable, STORABLE_MESSAGE);
