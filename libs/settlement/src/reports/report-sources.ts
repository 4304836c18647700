import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { createHash } from 'node:crypto';
import type { Logger } from '@upm/shared-observability';
import type { SftpOptions } from '../settlement.options';

/** A report file as found: where it came from, its path below the report root (`<customerId>/<yyyymmdd>/<name>`) and its bytes. */
export interface ReportSourceFile {
  source: string;
  path: string;
  name: string;
  content: Buffer;
}

export interface ReportSource {
  readonly name: string;
  list(): Promise<ReportSourceFile[]>;
}

const MAX_DEPTH = 3;

/** A local folder laid out as Alipay's SFTP account: `<customerId>/<yyyymmdd>/*.csv`. */
export class FolderReportSource implements ReportSource {
  readonly name: string;

  constructor(private readonly root: string) {
    this.name = `folder:${root}`;
  }

  async list(): Promise<ReportSourceFile[]> {
    const files: ReportSourceFile[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory() && depth < MAX_DEPTH) await walk(full, depth + 1);
        else if (entry.isFile() && entry.name.endsWith('.csv')) {
          files.push({ source: this.name, path: path.relative(this.root, full).split(path.sep).join('/'), name: entry.name, content: await readFile(full) });
        }
      }
    };
    await walk(this.root, 0);
    return files;
  }
}

/** Alipay's SFTP delivery (spec §13.1): the same layout under `remoteDir`, fetched over one session per look. */
export class SftpReportSource implements ReportSource {
  readonly name: string;

  constructor(
    private readonly options: SftpOptions,
    private readonly logger?: Logger,
  ) {
    this.name = `sftp://${options.username}@${options.host}:${options.port}${options.remoteDir}`;
  }

  async list(): Promise<ReportSourceFile[]> {
    // the library's default listeners write to the console; connection trouble belongs in the service's log
    const client = new SftpClient('settlement', {
      error: (error: Error) => this.logger?.warn({ err: error, source: this.name }, 'SFTP connection error'),
      end: () => undefined,
      close: () => undefined,
    });
    const { hostKeySha256 } = this.options;
    await client.connect({
      host: this.options.host,
      port: this.options.port,
      username: this.options.username,
      ...(this.options.privateKey ? { privateKey: this.options.privateKey } : {}),
      ...(this.options.password ? { password: this.options.password } : {}),
      readyTimeout: 10_000,
      retries: 1,
      ...(hostKeySha256
        ? { hostVerifier: (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === hostKeySha256.replace(/^SHA256:/, '').replace(/=+$/, '') }
        : {}),
    });
    try {
      const files: ReportSourceFile[] = [];
      const root = this.options.remoteDir.replace(/\/+$/, '') || '/';
      const walk = async (dir: string, relative: string, depth: number): Promise<void> => {
        if (!(await client.exists(dir))) return;
        const entries = (await client.list(dir)).sort((a, b) => a.name.localeCompare(b.name));
        for (const entry of entries) {
          const full = `${dir === '/' ? '' : dir}/${entry.name}`;
          const rel = relative ? `${relative}/${entry.name}` : entry.name;
          if (entry.type === 'd' && depth < MAX_DEPTH) await walk(full, rel, depth + 1);
          else if (entry.type === '-' && entry.name.endsWith('.csv')) {
            const content = await client.get(full);
            files.push({ source: this.name, path: rel, name: entry.name, content: Buffer.isBuffer(content) ? content : Buffer.from(String(content)) });
          }
        }
      };
      await walk(root, '', 0);
      return files;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
