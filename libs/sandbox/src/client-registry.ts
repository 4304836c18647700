import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadPublicKey } from '@upm/alipay';

/** A merchant integration the sandbox accepts requests from, with the public keys it verifies them with. */
export interface SandboxClient {
  clientId: string;
  /** Antom's merchant id; names the report folder */
  customerId: string;
  keys: Map<string, KeyObject>;
  latestKeyVersion: string;
  /** where notifications go when a request names no notify URL: the URL set in Antom Dashboard (spec §2.1) */
  notifyUrl?: string;
}

export interface ClientRegistration {
  clientId: string;
  /** PEM or Base64 DER (SPKI or PKCS#1) */
  publicKey: string;
  keyVersion?: string;
  customerId?: string;
  notifyUrl?: string;
}

export type KeyLookup =
  | { found: true; client: SandboxClient; key: KeyObject }
  | { found: false; reason: 'UNKNOWN_CLIENT' | 'UNKNOWN_KEY_VERSION' };

export class ClientRegistry {
  private readonly clients = new Map<string, SandboxClient>();

  constructor(private readonly defaultCustomerId: string) {}

  /** Adds a client, or a key version to a known one (registering a version again replaces its key). */
  register(registration: ClientRegistration): SandboxClient {
    const key = loadPublicKey(registration.publicKey);
    const keyVersion = registration.keyVersion ?? '1';
    const existing = this.clients.get(registration.clientId);
    const client: SandboxClient = existing ?? { clientId: registration.clientId, customerId: this.defaultCustomerId, keys: new Map(), latestKeyVersion: keyVersion };
    if (registration.customerId) client.customerId = registration.customerId;
    if (registration.notifyUrl) client.notifyUrl = registration.notifyUrl;
    client.keys.set(keyVersion, key);
    client.latestKeyVersion = keyVersion;
    this.clients.set(client.clientId, client);
    return client;
  }

  get(clientId: string): SandboxClient | undefined {
    return this.clients.get(clientId);
  }

  /** The key a request names by its keyVersion; without one, the latest version (spec §2.3). */
  keyFor(clientId: string, keyVersion: string | undefined): KeyLookup {
    const client = this.clients.get(clientId);
    if (!client) return { found: false, reason: 'UNKNOWN_CLIENT' };
    const key = client.keys.get(keyVersion ?? client.latestKeyVersion);
    return key ? { found: true, client, key } : { found: false, reason: 'UNKNOWN_KEY_VERSION' };
  }

  /** every customer id that has a client, plus the default one */
  customers(): string[] {
    return [...new Set([this.defaultCustomerId, ...[...this.clients.values()].map((client) => client.customerId)])];
  }
}

/**
 * A key given in configuration: PEM or Base64 DER as is, or the path of a file holding one. Base64 never
 * contains a dot, so a value with one is a path.
 */
export function readKeySource(source: string): string {
  const value = source.trim();
  if (value.includes('-----BEGIN')) return value;
  if (existsSync(value)) return readFileSync(value, 'utf8');
  if (value.includes('.')) throw new Error(`key file not found: ${value}`);
  return value;
}
