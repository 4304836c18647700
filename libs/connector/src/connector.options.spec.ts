import { signedNotifyPath } from './connector.options';

describe('the path Alipay signs a notification over', () => {
  it('is the notify URL without scheme and host, query string kept', () => {
    expect(signedNotifyPath('https://pay.example.com/upm/alipay/notify')).toBe('/upm/alipay/notify');
    expect(signedNotifyPath('https://pay.example.com/alipay/notify?store=7&region=hk')).toBe('/alipay/notify?store=7&region=hk');
  });

  it('is the webhook\'s own path when no notify URL is configured', () => {
    expect(signedNotifyPath(undefined)).toBe('/alipay/notify');
  });
});
