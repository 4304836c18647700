import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { FinanceController } from './finance.controller';
import { discrepancyView } from './finance.service';
import { financeOpenApiDocument } from './openapi';

type Operation = { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown>; security: unknown[] };
const document = financeOpenApiDocument() as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

/** Every route the controller serves, as `METHOD /path` with OpenAPI's {param} placeholders. */
function controllerRoutes(): string[] {
  const base = Reflect.getMetadata(PATH_METADATA, FinanceController) as string;
  return Object.getOwnPropertyNames(FinanceController.prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => (FinanceController.prototype as unknown as Record<string, object>)[name])
    .filter((handler) => Reflect.hasMetadata(PATH_METADATA, handler))
    .map((handler) => {
      const path = `/${base}/${Reflect.getMetadata(PATH_METADATA, handler) as string}`.replace(/:(\w+)/g, '{$1}');
      return `${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]} ${path}`;
    })
    .sort();
}

describe('the finance API OpenAPI document', () => {
  it('describes exactly the routes the controller serves', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)).sort();
    expect(controllerRoutes()).toHaveLength(11);
    expect(documented).toEqual(controllerRoutes());
  });

  it('takes each query parameter from the schema the controller validates with, and asks for the admin token everywhere', () => {
    const names = (path: string) => (document.paths[path].get.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    expect(names('/v1/settlement/batches')).toEqual(['query:currency', 'query:status', 'query:order', 'query:limit', 'query:before']);
    expect(names('/v1/settlement/discrepancies')).toEqual(['query:status', 'query:type', 'query:paymentId', 'query:limit', 'query:before']);
    expect(names('/v1/settlement/files')).toEqual(['query:limit', 'query:before']);
    expect(names('/v1/settlement/transactions')).toEqual(['query:paymentId', 'query:day', 'query:batchId', 'query:limit', 'query:before']);
    expect(names('/v1/settlement/balances')).toEqual(['query:merchantId', 'query:currency', 'query:at', 'query:status']);
    expect(names('/v1/settlement/batches/{batchId}')).toEqual(['path:batchId']);
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) {
        expect(operation.security).toEqual([{ adminToken: [] }]);
        expect(operation.responses['401']).toBeDefined();
      }
    }
  });

  it('documents every field of a discrepancy the API answers, and no other', () => {
    const schema = document.components.schemas.Discrepancy as { properties: Record<string, unknown>; required: string[] };
    const answered = Object.keys(discrepancyView({ previous_resolutions: [] }));
    expect(answered.sort()).toEqual(Object.keys(schema.properties).sort());
    expect(schema.required.sort()).toEqual(answered.sort());
  });

  it('refers only to schemas it defines', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(10);
    for (const name of new Set(refs)) expect(Object.keys(document.components.schemas)).toContain(name);
  });
});
