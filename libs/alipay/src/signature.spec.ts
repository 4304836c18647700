import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createSignature,
  formatSignatureHeader,
  parseSignatureHeader,
  signContent,
  SignedContent,
  signingContent,
  verifySignature,
} from './signature';

// Vectors are produced by the openssl command line, independently of node:crypto's signing code.
let dir: string;
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const base64Of = (name: string) => readFileSync(file(name)).toString('base64');

const content: SignedContent = {
  path: '/ams/api/v1/payments/pay',
  clientId: 'SANDBOX_5YBZ1N2YJ4XQ01234',
  time: '1685599933871',
  body: '{"productCode":"IN_STORE_PAYMENT","paymentRequestId":"PR_20240101_0001","orderDescription":"2 × café"}',
};

function opensslSign(signed: SignedContent, key = 'private-pkcs8.pem'): string {
  writeFileSync(file('content.bin'), signingContent(signed));
  openssl('dgst', '-sha256', '-sign', file(key), '-out', file('openssl.sig'), file('content.bin'));
  return base64Of('openssl.sig');
}

function opensslVerifies(signed: SignedContent, base64Signature: string): boolean {
  writeFileSync(file('content.bin'), signingContent(signed));
  writeFileSync(file('ours.sig'), Buffer.from(base64Signature, 'base64'));
  const run = spawnSync('openssl', ['dgst', '-sha256', '-verify', file('public.pem'), '-signature', file('ours.sig'), file('content.bin')]);
  return run.status === 0 && run.stdout.toString().includes('Verified OK');
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ams-signature-'));
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('private-pkcs8.pem'));
  openssl('rsa', '-in', file('private-pkcs8.pem'), '-traditional', '-out', file('private-pkcs1.pem'));
  openssl('pkcs8', '-topk8', '-nocrypt', '-in', file('private-pkcs8.pem'), '-outform', 'DER', '-out', file('private-pkcs8.der'));
  openssl('rsa', '-in', file('private-pkcs8.pem'), '-traditional', '-outform', 'DER', '-out', file('private-pkcs1.der'));
  openssl('pkey', '-in', file('private-pkcs8.pem'), '-pubout', '-out', file('public.pem'));
  openssl('pkey', '-in', file('private-pkcs8.pem'), '-pubout', '-outform', 'DER', '-out', file('public.der'));
  openssl('rsa', '-in', file('private-pkcs8.pem'), '-RSAPublicKey_out', '-out', file('public-pkcs1.pem'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const privateKeys = () => ({
  'PKCS#8 PEM': readFileSync(file('private-pkcs8.pem'), 'utf8'),
  'PKCS#1 PEM': readFileSync(file('private-pkcs1.pem'), 'utf8'),
  'PKCS#8 Base64 DER': base64Of('private-pkcs8.der'),
  'PKCS#1 Base64 DER': base64Of('private-pkcs1.der'),
});
const publicKeys = () => ({
  'SPKI PEM': readFileSync(file('public.pem'), 'utf8'),
  'SPKI Base64 DER': base64Of('public.der'),
  'PKCS#1 PEM': readFileSync(file('public-pkcs1.pem'), 'utf8'),
});

describe('the content to be signed (spec §2.5)', () => {
  it('is "POST <path>\\n<clientId>.<time>.<body>" in UTF-8 with a bare LF', () => {
    expect(signingContent(content).toString('utf8')).toBe(
      'POST /ams/api/v1/payments/pay\nSANDBOX_5YBZ1N2YJ4XQ01234.1685599933871.' + content.body,
    );
    expect(signingContent(content).includes('\r')).toBe(false);
  });

  it('keeps the body bytes exactly as given', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x20, 0x22, 0xc3, 0xa9, 0x22, 0x7d]);
    const signed = signingContent({ ...content, body: bytes });
    expect(signed.subarray(signed.length - bytes.length).equals(bytes)).toBe(true);
  });
});

describe('SHA256withRSA against openssl', () => {
  it('our signature verifies with `openssl dgst -sha256 -verify`, with every private key encoding', () => {
    for (const [encoding, key] of Object.entries(privateKeys())) {
      expect({ encoding, verified: opensslVerifies(content, signContent(content, key)) }).toEqual({ encoding, verified: true });
    }
  });

  it('produces exactly the bytes openssl produces (PKCS#1 v1.5 is deterministic)', () => {
    const expected = opensslSign(content);
    for (const key of Object.values(privateKeys())) expect(signContent(content, key)).toBe(expected);
  });

  it("openssl's `-sign` output verifies with ours, with every public key encoding", () => {
    const header = formatSignatureHeader(opensslSign(content));
    for (const [encoding, key] of Object.entries(publicKeys())) {
      expect({ encoding, verified: verifySignature(content, header, key) }).toEqual({ encoding, verified: true });
    }
  });

  it.each([
    ['path', { ...content, path: '/ams/api/v1/payments/paY' }],
    ['time', { ...content, time: '1685599933872' }],
    ['body', { ...content, body: (content.body as string).replace('0001', '0002') }],
    ['client id', { ...content, clientId: 'SANDBOX_5YBZ1N2YJ4XQ01235' }],
    ['method', { ...content, method: 'PUT' }],
  ])('a one-byte change in the %s fails, for openssl and for us', (_field, changed: SignedContent) => {
    const openSslSignature = opensslSign(content);
    expect(verifySignature(changed, formatSignatureHeader(openSslSignature), readFileSync(file('public.pem'), 'utf8'))).toBe(false);
    expect(opensslVerifies(changed, signContent(content, readFileSync(file('private-pkcs8.pem'), 'utf8')))).toBe(false);
  });

  it('a CRLF instead of the LF fails', () => {
    const header = formatSignatureHeader(opensslSign(content));
    const crlf = { ...content, path: `${content.path}\r` };
    expect(verifySignature(crlf, header, readFileSync(file('public.pem'), 'utf8'))).toBe(false);
  });

  it('a signature made with another key fails', () => {
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('other.pem'));
    const header = formatSignatureHeader(opensslSign(content, 'other.pem'));
    expect(verifySignature(content, header, readFileSync(file('public.pem'), 'utf8'))).toBe(false);
  });
});

describe('the Signature header', () => {
  it('URL-encodes the Base64 (+ / =) and carries algorithm and key version', () => {
    const header = createSignature(content, readFileSync(file('private-pkcs8.pem'), 'utf8'), 2);
    expect(header).toMatch(/^algorithm=RSA256,keyVersion=2,signature=[A-Za-z0-9%]+$/);
    const encoded = header.split('signature=')[1];
    expect(encoded).not.toMatch(/[+/=]/);
    expect(encoded.endsWith('%3D%3D')).toBe(true); // 256 signature bytes → Base64 ends with "=="
    expect(parseSignatureHeader(header)?.signature).toBe(signContent(content, readFileSync(file('private-pkcs8.pem'), 'utf8')));
  });

  it('is parsed tolerantly: spaces after commas, any key case, raw Base64', () => {
    const base64 = opensslSign(content);
    const publicPem = readFileSync(file('public.pem'), 'utf8');
    expect(verifySignature(content, `algorithm=RSA256, keyVersion=1, signature=${encodeURIComponent(base64)}`, publicPem)).toBe(true);
    expect(verifySignature(content, `signature=${base64}, KeyVersion=1`, publicPem)).toBe(true);
    expect(parseSignatureHeader(`algorithm=RSA256, keyVersion=3, signature=${encodeURIComponent(base64)}`)).toEqual({ algorithm: 'RSA256', keyVersion: '3', signature: base64 });
  });

  it('is refused when missing, empty, malformed or of another algorithm', () => {
    const base64 = opensslSign(content);
    const publicPem = readFileSync(file('public.pem'), 'utf8');
    expect(verifySignature(content, undefined, publicPem)).toBe(false);
    expect(verifySignature(content, '', publicPem)).toBe(false);
    expect(verifySignature(content, 'algorithm=RSA256,keyVersion=1', publicPem)).toBe(false);
    expect(verifySignature(content, 'algorithm=RSA256,keyVersion=1,signature=%E0%A4%A', publicPem)).toBe(false);
    expect(verifySignature(content, `algorithm=HS256,keyVersion=1,signature=${encodeURIComponent(base64)}`, publicPem)).toBe(false);
  });
});
