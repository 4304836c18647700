export * from './database';
export * from './connector.module';
export * from './ams-translation';
export { signedNotifyPath } from './connector.options';
