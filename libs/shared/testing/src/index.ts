export * from './databases';
export * from './kafka';
export * from './wait';
export * from './logger';
export * from './services';
export * from './tcp-proxy';
export * from './fixtures/refund-effects';
export * from './loopback-server';
