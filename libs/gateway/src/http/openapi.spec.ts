import { openApiDocument } from './openapi';

type Operation = { requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, unknown> };

/** The POS API's document: what an integrator builds against, so every input a POS may send is in it. */
describe('the POS API document', () => {
  const document = openApiDocument() as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
  const schemaOf = (operation: Operation) => {
    const ref = operation.requestBody?.content['application/json'].schema.$ref ?? '';
    return document.components.schemas[ref.replace('#/components/schemas/', '')];
  };

  it('documents the body of every POS request that takes one, with the wait it may ask for, its 400, and its 415 for a body that is not JSON', () => {
    for (const path of ['/v1/payments', '/v1/payments/{paymentId}/cancel', '/v1/payments/{paymentId}/refunds']) {
      const operation = document.paths[path].post;
      expect(schemaOf(operation)?.properties).toHaveProperty('waitSeconds');
      expect(operation.responses).toHaveProperty('400');
      expect(operation.responses).toHaveProperty('415');
    }
  });

  it('documents 415 UNSUPPORTED_CONTENT_ENCODING, the answer to a compressed body', () => {
    expect(document.paths['/v1/payments'].post.responses['415']).toMatchObject({ description: expect.stringContaining('UNSUPPORTED_CONTENT_ENCODING') });
  });

  it('documents 503 IDEMPOTENCY_UNAVAILABLE on the requests that take an idempotency lock: a new payment and a refund', () => {
    for (const path of ['/v1/payments', '/v1/payments/{paymentId}/refunds']) {
      expect(document.paths[path].post.responses['503']).toMatchObject({ description: expect.stringContaining('IDEMPOTENCY_UNAVAILABLE') });
    }
  });
});
