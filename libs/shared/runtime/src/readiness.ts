import { Injectable } from '@nestjs/common';

export type ReadinessCheck = () => Promise<void>;

export interface ReadinessCheckOptions {
  /**
   * false: a failure is reported (`degraded: …`) but leaves the service ready, for a dependency the service
   * still serves requests without, and which no other replica would have either (default true)
   */
  required?: boolean;
}

/** Dependencies register a check here; `/health/ready` runs them all, each bounded in time. */
@Injectable()
export class Readiness {
  private readonly checks = new Map<string, { check: ReadinessCheck; required: boolean }>();
  private shuttingDown = false;

  register(name: string, check: ReadinessCheck, options: ReadinessCheckOptions = {}): void {
    this.checks.set(name, { check, required: options.required ?? true });
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async report(timeoutMs = 2000): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, { check, required }]) => {
        const result = await outcome(check, timeoutMs);
        return [name, result === 'up' || required ? result : result.replace(/^down: /, 'degraded: ')] as const;
      }),
    );
    const checks = Object.fromEntries(entries);
    if (this.shuttingDown) checks['shutdown'] = 'in progress';
    return { ready: !this.shuttingDown && entries.every(([, result]) => !result.startsWith('down: ')), checks };
  }
}

async function outcome(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'up';
  } catch (error) {
    return `down: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}
