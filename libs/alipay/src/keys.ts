import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';

/**
 * A key as configuration gives it: PEM text, Base64 of the DER bytes (what Antom Dashboard shows and the
 * Java SDK takes), or an already loaded KeyObject.
 * Private keys: PKCS#8 or PKCS#1. Public keys: X.509 SubjectPublicKeyInfo or PKCS#1.
 */
export type KeyInput = string | KeyObject;

export class KeyFormatError extends Error {
  constructor(kind: 'private' | 'public', reason: string) {
    super(`unusable RSA ${kind} key: ${reason}`);
    this.name = 'KeyFormatError';
  }
}

const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

export function loadPrivateKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) return requireRsa(input, 'private');
  const text = input.trim();
  if (text.includes('-----BEGIN')) return requireRsa(attempt('private', () => createPrivateKey(normalisePem(text))), 'private');
  const der = base64Der(text, 'private');
  return requireRsa(
    firstThatLoads('private', [
      () => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
      () => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
    ]),
    'private',
  );
}

export function loadPublicKey(input: KeyInput): KeyObject {
  if (input instanceof KeyObject) return requireRsa(input.type === 'private' ? createPublicKey(input) : input, 'public');
  const text = input.trim();
  if (text.includes('-----BEGIN')) return requireRsa(attempt('public', () => createPublicKey(normalisePem(text))), 'public');
  const der = base64Der(text, 'public');
  return requireRsa(
    firstThatLoads('public', [
      () => createPublicKey({ key: der, format: 'der', type: 'spki' }),
      () => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
    ]),
    'public',
  );
}

/** SubjectPublicKeyInfo PEM, the form `/sandbox/alipay-public-key` serves and OpenSSL reads. */
export function publicKeyPem(key: KeyInput): string {
  return loadPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

/** Base64 of the SubjectPublicKeyInfo DER, the form Antom Dashboard shows. */
export function publicKeyBase64(key: KeyInput): string {
  return loadPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
}

// Environment variables often carry PEM with literal "\n" sequences instead of line breaks.
function normalisePem(text: string): string {
  return text.includes('\\n') ? text.replace(/\\n/g, '\n') : text;
}

function base64Der(text: string, kind: 'private' | 'public'): Buffer {
  if (!BASE64.test(text)) throw new KeyFormatError(kind, 'neither PEM nor Base64 DER');
  return Buffer.from(text.replace(/\s+/g, ''), 'base64');
}

function attempt(kind: 'private' | 'public', load: () => KeyObject): KeyObject {
  try {
    return load();
  } catch (error) {
    throw new KeyFormatError(kind, error instanceof Error ? error.message : String(error));
  }
}

function firstThatLoads(kind: 'private' | 'public', loaders: Array<() => KeyObject>): KeyObject {
  for (const load of loaders) {
    try {
      return load();
    } catch {
      // try the next encoding
    }
  }
  throw new KeyFormatError(kind, 'Base64 DER is neither PKCS#8/SPKI nor PKCS#1');
}

function requireRsa(key: KeyObject, kind: 'private' | 'public'): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new KeyFormatError(kind, `expected RSA, got ${key.asymmetricKeyType ?? key.type}`);
  if (kind === 'private' && key.type !== 'private') throw new KeyFormatError(kind, 'a public key was given');
  return key;
}
