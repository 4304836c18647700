import { generateKeyPairSync } from 'node:crypto';
import { KeyFormatError, loadPrivateKey, loadPublicKey, publicKeyBase64, publicKeyPem } from './keys';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('loading keys', () => {
  it('accepts PEM with escaped line breaks, as environment variables carry it', () => {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(loadPrivateKey(pem.replace(/\n/g, '\\n')).asymmetricKeyType).toBe('rsa');
  });

  it('derives the public key from a private one and round-trips PEM and Base64 DER', () => {
    const fromPrivate = loadPublicKey(privateKey);
    expect(fromPrivate.type).toBe('public');
    expect(publicKeyPem(fromPrivate)).toBe(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(publicKeyPem(publicKeyBase64(publicKey))).toBe(publicKeyPem(publicKey));
  });

  it('refuses garbage, non-RSA keys and a public key where a private one is needed', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => loadPrivateKey('not a key!')).toThrow(KeyFormatError);
    expect(() => loadPrivateKey('QUJDRA==')).toThrow(KeyFormatError);
    expect(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----')).toThrow(KeyFormatError);
    expect(() => loadPrivateKey(ec.privateKey)).toThrow(/expected RSA/);
    expect(() => loadPublicKey(ec.publicKey.export({ type: 'spki', format: 'pem' }).toString())).toThrow(/expected RSA/);
    expect(() => loadPrivateKey(publicKey)).toThrow(/public key was given/);
  });
});
