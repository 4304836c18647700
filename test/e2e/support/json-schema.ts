/**
 * Checks a value against the JSON Schema subset our OpenAPI documents use (type, enum, required, properties,
 * additionalProperties, items, anyOf, allOf, local $ref; formats are not checked). Answers every mismatch,
 * with where it is, so a test can show what drifted.
 */
export function schemaMismatches(value: unknown, schema: Record<string, unknown>, root: Record<string, unknown>, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = resolve(schema, root);
    return target === schema ? [`${at}: unresolved ${schema.$ref}`] : schemaMismatches(value, target, root, at);
  }
  if (Array.isArray(schema.anyOf)) {
    const each = schema.anyOf.map((option) => schemaMismatches(value, option as Record<string, unknown>, root, at));
    return each.some((m) => !m.length) ? [] : [`${at}: matches none of anyOf (${each.map((m) => m[0]).join(' | ')})`];
  }
  if (Array.isArray(schema.allOf)) {
    // object parts are merged, so a key one part defines is documented for the whole
    const parts = schema.allOf.map((part) => resolve(part as Record<string, unknown>, root));
    const merged = {
      type: 'object',
      required: parts.flatMap((part) => (part.required ?? []) as string[]),
      properties: Object.assign({}, ...parts.map((part) => part.properties ?? {})),
    };
    return schemaMismatches(value, merged, root, at);
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`];
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  const types = schema.type === undefined ? undefined : ([] as unknown[]).concat(schema.type);
  if (types && !types.includes(kind) && !(kind === 'integer' && types.includes('number'))) return [`${at}: ${kind}, expected ${types.join(' or ')}`];
  if (kind === 'array' && schema.items) return (value as unknown[]).flatMap((item, i) => schemaMismatches(item, schema.items as Record<string, unknown>, root, `${at}[${i}]`));
  if (kind !== 'object') return [];
  const object = value as Record<string, unknown>;
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const problems = ((schema.required ?? []) as string[]).filter((key) => !(key in object)).map((key) => `${at}.${key}: missing`);
  for (const [key, item] of Object.entries(object)) {
    if (properties[key]) problems.push(...schemaMismatches(item, properties[key], root, `${at}.${key}`));
    else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') problems.push(...schemaMismatches(item, schema.additionalProperties as Record<string, unknown>, root, `${at}.${key}`));
    else if (schema.properties && schema.additionalProperties !== true && !('additionalProperties' in schema)) problems.push(`${at}.${key}: not documented`);
  }
  return problems;
}

/** The schema a local `$ref` points at (the schema itself when it has none, or the reference does not resolve). */
function resolve(schema: Record<string, unknown>, root: Record<string, unknown>): Record<string, unknown> {
  if (typeof schema.$ref !== 'string') return schema;
  const target = schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], root);
  return (target as Record<string, unknown>) ?? schema;
}
