import { assertPublicEndpoint, NonPublicEndpoint, nonPublicKind } from './address-policy';

describe('addresses a webhook may not go to', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.10', 'private'],
    ['100.100.100.200', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fc00::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['198.18.0.1', 'reserved'],
    ['224.0.0.251', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['ff02::1', 'reserved'],
    ['64:ff9b::a00:1', 'reserved'],
  ])('%s is %s', (address, kind) => {
    expect(nonPublicKind(address)).toBe(kind);
  });

  it.each(['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(nonPublicKind(address)).toBeUndefined();
  });
});

describe('an endpoint URL whose host is, or resolves to, such an address', () => {
  it.each([
    ['http://127.0.0.1:8080/hooks', '127.0.0.1 is a loopback address'],
    ['https://[::1]/hooks', '::1 is a loopback address'],
    ['http://[::ffff:a9fe:a9fe]/latest/meta-data', '::ffff:a9fe:a9fe is a link-local address'],
    // the URL parser turns every spelling of an IPv4 address into the dotted one
    ['http://0xa9fea9fe/latest/meta-data', '169.254.169.254 is a link-local address'],
    ['http://2130706433/', '127.0.0.1 is a loopback address'],
    ['http://localhost:3004/v1/admin', /^localhost resolves to (127\.0\.0\.1|::1), a loopback address$/],
  ])('%s is refused: %s', async (url: string, message: string | RegExp) => {
    const refused = assertPublicEndpoint(url);
    await expect(refused).rejects.toThrow(NonPublicEndpoint);
    await expect(refused).rejects.toThrow(message);
    await expect(refused).rejects.toMatchObject({ code: 'WEBHOOK_URL_NOT_PUBLIC' });
  });

  it('lets a public address through, and a name that does not resolve now (its send fails on its own)', async () => {
    await expect(assertPublicEndpoint('https://8.8.8.8/hooks')).resolves.toBeUndefined();
    await expect(assertPublicEndpoint('https://no-such-host.invalid/hooks')).resolves.toBeUndefined();
  });
});
