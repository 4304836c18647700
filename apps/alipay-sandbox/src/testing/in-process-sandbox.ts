import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureSandboxHttp, Sandbox } from '@upm/sandbox';
import { loadConfig } from '@upm/shared-config';
import { AppModule } from '../app.module';
import { configDefinition } from '../config';

export interface InProcessSandbox {
  url: string;
  app: INestApplication;
  sandbox: Sandbox;
  close(): Promise<void>;
}

/**
 * The real sandbox app (configuration, module, HTTP setup) in this process on a free port, for tests that
 * drive it over HTTP and sometimes reach into its clock.
 */
export async function startInProcessSandbox(env: Record<string, string> = {}): Promise<InProcessSandbox> {
  const config = loadConfig(configDefinition, { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env });
  const app = await NestFactory.create(AppModule.register(config), { logger: false });
  configureSandboxHttp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, sandbox: app.get(Sandbox), close: () => app.close() };
}
