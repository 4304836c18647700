import type { z } from 'zod';
import { ApiError } from './api-error';

/** One problem with a request, as every service's 400 VALIDATION_FAILED lists it. */
export interface ValidationDetail {
  /** the field's path, dot-separated (`amount.value`, `eventTypes.0`), or `(body)` for the whole input */
  field: string;
  /** REQUIRED, UNKNOWN_FIELD, the service's own code for the field, or INVALID_VALUE */
  code: string;
  message: string;
}

/**
 * Parses a request's body, query or parameter against a schema, or throws 400 VALIDATION_FAILED with one
 * detail per problem. `fieldCodes` gives a field its own stable code for a value that is there but wrong,
 * looked up by the whole path (`amount.value`), then by its last name (`waitSeconds`); INVALID_VALUE otherwise.
 */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown, fieldCodes: Readonly<Record<string, string>> = {}): z.output<T> {
  const given = input ?? {};
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue): ValidationDetail => {
    const field = issue.path.join('.');
    return { field: field || '(body)', code: codeOf(issue, field, given, fieldCodes), message: issue.message };
  });
  throw new ApiError(400, 'VALIDATION_FAILED', 'the request is not valid', details);
}

function codeOf(issue: z.ZodError['issues'][number], field: string, given: unknown, fieldCodes: Readonly<Record<string, string>>): string {
  if (issue.code === 'unrecognized_keys') return 'UNKNOWN_FIELD';
  // Zod leaves the input out of its issues, and says "invalid type" or "invalid option" alike for a field that
  // is missing and one sent with the wrong type: whether the field was there is read from the request itself.
  if (valueAt(given, issue.path) === undefined) return 'REQUIRED';
  return (Object.hasOwn(fieldCodes, field) ? fieldCodes[field] : undefined) ?? lastNameCode(issue.path, fieldCodes) ?? 'INVALID_VALUE';
}

function lastNameCode(path: readonly PropertyKey[], fieldCodes: Readonly<Record<string, string>>): string | undefined {
  if (path.length === 0) return undefined;
  const name = String(path[path.length - 1]);
  return Object.hasOwn(fieldCodes, name) ? fieldCodes[name] : undefined;
}

/** What the request held at a path: undefined where a key is absent or holds undefined. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
