import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '@upm/shared-config';
import { configDefinition } from './config';

describe('alipay-connector configuration', () => {
  const pem = (type: 'pkcs8' | 'spki') => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return type === 'pkcs8' ? privateKey.export({ type, format: 'pem' }).toString() : publicKey.export({ type, format: 'pem' }).toString();
  };
  const keys = { ALIPAY_PRIVATE_KEY: pem('pkcs8'), ALIPAY_PUBLIC_KEY: pem('spki') };

  it('takes usable keys and the retired ones, in order', () => {
    const retired = [pem('spki'), pem('spki')];
    const { connector } = loadConfig(configDefinition, { ...keys, ALIPAY_RETIRED_PUBLIC_KEYS: retired.join(',') });
    expect(connector.retiredAlipayPublicKeys).toEqual(retired.map((key) => key.trim()));
    expect(connector.credentials[0]).toMatchObject({ privateKey: keys.ALIPAY_PRIVATE_KEY, alipayPublicKey: keys.ALIPAY_PUBLIC_KEY });
  });

  it.each([
    ['a retired key that is no key', { ALIPAY_RETIRED_PUBLIC_KEYS: `${pem('spki')},not-a-key` }, 'ALIPAY_RETIRED_PUBLIC_KEYS (key 2): unusable RSA public key'],
    ['Base64 that is no DER key among the retired ones', { ALIPAY_RETIRED_PUBLIC_KEYS: 'QUJDRA==' }, 'ALIPAY_RETIRED_PUBLIC_KEYS (key 1): unusable RSA public key'],
    ['an Alipay public key that is no key', { ALIPAY_PUBLIC_KEY: 'not a key!' }, 'ALIPAY_PUBLIC_KEY: unusable RSA public key'],
    ['a public key given as the private one', { ALIPAY_PRIVATE_KEY: keys.ALIPAY_PUBLIC_KEY }, 'ALIPAY_PRIVATE_KEY: unusable RSA private key'],
  ])('refuses to boot on %s, naming the variable', (_, override, problem) => {
    let error: unknown;
    try {
      loadConfig(configDefinition, { ...keys, ...override });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringContaining(problem)]);
  });
});
