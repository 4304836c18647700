// The part of ssh2-sftp-client (12.x, which ships no types) that the SFTP report source uses.
declare module 'ssh2-sftp-client' {
  interface ConnectOptions {
    host: string;
    port?: number;
    username?: string;
    password?: string;
    privateKey?: string | Buffer;
    readyTimeout?: number;
    retries?: number;
    hostVerifier?: (key: Buffer) => boolean;
  }
  interface FileInfo {
    type: 'd' | '-' | 'l';
    name: string;
    size: number;
    modifyTime: number;
  }
  class SftpClient {
    constructor(name?: string, callbacks?: { error?: (error: Error) => void; end?: () => void; close?: () => void });
    connect(options: ConnectOptions): Promise<unknown>;
    list(path: string): Promise<FileInfo[]>;
    exists(path: string): Promise<false | 'd' | '-' | 'l'>;
    get(path: string): Promise<string | Buffer | NodeJS.WritableStream>;
    end(): Promise<boolean>;
  }
  export default SftpClient;
}
