import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { eventually } from './wait';

/** the repository: the nearest folder above this one with a package.json (from the sources or their copy in dist/) */
const ROOT = repositoryRoot(__dirname);

function repositoryRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${from}`);
}

export interface RunningService {
  app: string;
  url: string;
  child: ChildProcess;
  /** every line the process wrote, parsed when it is JSON */
  logs: Array<Record<string, unknown>>;
  /** SIGTERM (or the given signal) and wait for the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** how long to wait for `/health/ready` (default 30 s) */
  readyTimeoutMs?: number;
  /** options for node itself, e.g. `--cpu-prof` */
  nodeArgs?: string[];
}

/**
 * Starts an app from its compiled output (`npm run build`) as a real process with the given environment,
 * and waits until `/health/ready` answers 200.
 */
export async function startService(app: string, port: number, env: Record<string, string>, options: StartOptions = {}): Promise<RunningService> {
  const { readyTimeoutMs = 30_000, nodeArgs = [] } = options;
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist/apps', app, 'src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: process.env.TEST_SERVICE_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const service: RunningService = {
    app,
    url,
    child,
    logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}: ${JSON.stringify(logs.slice(-5))}`);
      const response = await fetch(`${url}/health/ready`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    }, readyTimeoutMs, 200);
  } catch (error) {
    await service.stop('SIGKILL');
    throw error;
  }
  return service;
}

/** Runs an app to completion (e.g. with a bad configuration) and returns its exit code and output. */
export async function runToExit(app: string, env: Record<string, string>, timeoutMs = 15_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/apps', app, 'src/main.js')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}
