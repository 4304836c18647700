import { sign as rsaSign, verify as rsaVerify } from 'node:crypto';
import { KeyInput, loadPrivateKey, loadPublicKey } from './keys';

/**
 * AMS message signing (spec §2.5): SHA256withRSA (RSASSA-PKCS1-v1_5) over
 * `<METHOD> <path>\n<clientId>.<time>.<body>`, Base64, URL-encoded into
 * `Signature: algorithm=RSA256,keyVersion=<n>,signature=<…>`. The body is the exact bytes on the wire.
 */
export interface SignedContent {
  /** `POST` unless said otherwise */
  method?: string;
  /** path and query, without scheme and host */
  path: string;
  clientId: string;
  /** the exact Request-Time / response-time / request-time header value */
  time: string;
  body: string | Buffer;
}

export const SIGNATURE_ALGORITHM = 'RSA256';
export const JSON_CONTENT_TYPE = 'application/json; charset=UTF-8';

export function signingContent(content: SignedContent): Buffer {
  const head = Buffer.from(`${content.method ?? 'POST'} ${content.path}\n${content.clientId}.${content.time}.`, 'utf8');
  const body = typeof content.body === 'string' ? Buffer.from(content.body, 'utf8') : content.body;
  return Buffer.concat([head, body]);
}

/** The Base64 signature of the content (not yet URL-encoded). */
export function signContent(content: SignedContent, privateKey: KeyInput): string {
  return rsaSign('sha256', signingContent(content), loadPrivateKey(privateKey)).toString('base64');
}

export function verifyContent(content: SignedContent, base64Signature: string, publicKey: KeyInput): boolean {
  const signature = Buffer.from(base64Signature, 'base64');
  if (signature.length === 0) return false;
  try {
    return rsaVerify('sha256', signingContent(content), loadPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

export interface SignatureHeader {
  algorithm?: string;
  keyVersion?: string;
  /** Base64, already URL-decoded */
  signature: string;
}

export function formatSignatureHeader(base64Signature: string, keyVersion: string | number = 1): string {
  return `algorithm=${SIGNATURE_ALGORITHM},keyVersion=${keyVersion},signature=${encodeURIComponent(base64Signature)}`;
}

/**
 * Reads `algorithm=RSA256, keyVersion=1, signature=…` with or without spaces after the commas. The
 * signature may be URL-encoded (as Alipay sends it) or raw Base64.
 */
export function parseSignatureHeader(value: string | undefined): SignatureHeader | undefined {
  if (!value) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const encoded = fields.get('signature');
  if (!encoded) return undefined;
  let signature: string;
  try {
    signature = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  return { algorithm: fields.get('algorithm'), keyVersion: fields.get('keyversion'), signature };
}

/** The `Signature` header value for the content. */
export function createSignature(content: SignedContent, privateKey: KeyInput, keyVersion: string | number = 1): string {
  return formatSignatureHeader(signContent(content, privateKey), keyVersion);
}

/** True only for a well-formed RSA256 header whose signature verifies over exactly this content. */
export function verifySignature(content: SignedContent, header: string | undefined, publicKey: KeyInput): boolean {
  const parsed = parseSignatureHeader(header);
  if (!parsed) return false;
  if (parsed.algorithm !== undefined && parsed.algorithm.toUpperCase() !== SIGNATURE_ALGORITHM) return false;
  return verifyContent(content, parsed.signature, publicKey);
}

export interface SigningInput {
  path: string;
  clientId: string;
  time: string;
  body: string | Buffer;
  privateKey: KeyInput;
  keyVersion?: string | number;
}

/** Headers of a signed merchant → Alipay request or Alipay → merchant notification (names are case-insensitive). */
export function signedRequestHeaders(input: SigningInput): Record<string, string> {
  return {
    'content-type': JSON_CONTENT_TYPE,
    'client-id': input.clientId,
    'request-time': input.time,
    signature: createSignature(input, input.privateKey, input.keyVersion),
  };
}

/** Headers of a signed Alipay → merchant response. */
export function signedResponseHeaders(input: SigningInput): Record<string, string> {
  return {
    'content-type': JSON_CONTENT_TYPE,
    'client-id': input.clientId,
    'response-time': input.time,
    signature: createSignature(input, input.privateKey, input.keyVersion),
  };
}

export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

/** A header value by case-insensitive name, from Node's, fetch's or a plain object's headers. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const wanted = name.toLowerCase();
  const key = wanted in bag ? wanted : Object.keys(bag).find((k) => k.toLowerCase() === wanted);
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? value[0] : value;
}
