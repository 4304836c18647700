import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '@upm/shared-runtime';
import { Admission, admitAtTheDoor } from '../payments/admission';
import { openApiDocument } from './openapi';

/**
 * Load shedding ahead of the framework, uncompressed bodies only, JSON bodies up to 64 kB, CSV imports up to
 * 20 MB, the OpenAPI document at /openapi.json and the docs at /docs.
 */
export function configureGatewayHttp(app: NestExpressApplication): void {
  admitAtTheDoor(app.getHttpServer(), app.get(Admission));
  app.use(refuseEncodedBodies);
  app.useBodyParser('json', { limit: '64kb' });
  app.useBodyParser('text', { type: 'text/csv', limit: '20mb' });
  SwaggerModule.setup('docs', app, openApiDocument() as never, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}

/**
 * The POS and admin APIs take bodies as they are (`Content-Encoding` absent or `identity`). Any other encoding is
 * refused before a body parser sees it, with one code whether the parsers could have decoded it (gzip, deflate,
 * br), could not (an unknown encoding) or would have failed on it (a corrupt gzip): otherwise the first would be
 * taken, the others answered with a generic 400. `Accept-Encoding: identity` names what is taken (RFC 7694).
 */
function refuseEncodedBodies(request: Request, response: Response, next: NextFunction): void {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity') return next();
  response.setHeader('Accept-Encoding', 'identity');
  next(new ApiError(415, 'UNSUPPORTED_CONTENT_ENCODING', 'send the body uncompressed, without a Content-Encoding header (or with Content-Encoding: identity)'));
}
