export * from './database';
export * from './gateway.module';
export * from './gateway.options';
export * from './http/openapi';
export * from './http/configure-http';
