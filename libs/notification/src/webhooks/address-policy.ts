import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export type NonPublicKind = 'loopback' | 'private' | 'link-local' | 'unspecified' | 'reserved';

/**
 * Addresses a merchant's URL must not make the platform call: its own host, its networks and the cloud's
 * metadata services. An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) counts as the IPv4 address.
 */
const NON_PUBLIC: ReadonlyArray<{ kind: NonPublicKind; list: BlockList }> = (
  [
    ['loopback', ['127.0.0.0/8', '::1/128']],
    // RFC 1918, unique local IPv6 (AWS metadata's fd00:ec2::254), and RFC 6598 shared space (Alibaba Cloud's metadata 100.100.100.200)
    ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']],
    // 169.254.169.254 is the metadata service of most clouds
    ['link-local', ['169.254.0.0/16', 'fe80::/10']],
    // a connection to 0.0.0.0 reaches the local host
    ['unspecified', ['0.0.0.0/8', '::/128']],
    // not a unicast host on the internet: protocol assignments, benchmarking networks, multicast, the reserved
    // block and broadcast, and NAT64's translation of IPv4 addresses (which may be the network's own)
    ['reserved', ['192.0.0.0/24', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4', 'ff00::/8', '64:ff9b::/96', '64:ff9b:1::/48']],
  ] as const
).map(([kind, subnets]) => {
  const list = new BlockList();
  for (const subnet of subnets) {
    const [network, prefix] = subnet.split('/');
    list.addSubnet(network, Number(prefix), isIP(network) === 6 ? 'ipv6' : 'ipv4');
  }
  return { kind, list };
});

/** What kind of address a webhook may not go to `address` is, or undefined for a public one. */
export function nonPublicKind(address: string): NonPublicKind | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return NON_PUBLIC.find(({ list }) => list.check(address, family))?.kind;
}

/** A webhook URL whose host is, or resolves to, an address that is not public. */
export class NonPublicEndpoint extends Error {
  readonly code = 'WEBHOOK_URL_NOT_PUBLIC';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly kind: NonPublicKind,
  ) {
    super(address === host ? `${host} is a ${kind} address` : `${host} resolves to ${address}, a ${kind} address`);
    this.name = 'NonPublicEndpoint';
  }
}

/**
 * Throws NonPublicEndpoint when the host of `url` is, or resolves to, an address that is not public; every
 * address of the name counts, not only the first. A name that does not resolve now passes: there is nothing
 * to refuse, and a send to it fails on its own.
 */
export async function assertPublicEndpoint(url: string): Promise<void> {
  const host = hostOf(new URL(url));
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    return;
  }
  assertPublicAddresses(host, addresses);
}

/** A URL's host as a name or a bare address (an IPv6 address without its brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Throws NonPublicEndpoint when any of the addresses `host` resolved to is not public. */
export function assertPublicAddresses(host: string, addresses: ReadonlyArray<{ address: string }>): void {
  for (const { address } of addresses) {
    const kind = nonPublicKind(address);
    if (kind) throw new NonPublicEndpoint(host, address, kind);
  }
}
