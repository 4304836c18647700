import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Admission, admitAtTheDoor } from '../payments/admission';
import { openApiDocument } from './openapi';

/**
 * Load shedding ahead of the framework, JSON bodies up to 64 kB, CSV imports up to 20 MB, the OpenAPI
 * document at /openapi.json and the docs at /docs.
 */
export function configureGatewayHttp(app: NestExpressApplication): void {
  admitAtTheDoor(app.getHttpServer(), app.get(Admission));
  app.useBodyParser('json', { limit: '64kb' });
  app.useBodyParser('text', { type: 'text/csv', limit: '20mb' });
  SwaggerModule.setup('docs', app, openApiDocument() as never, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
