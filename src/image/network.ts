/**
 * Which network addresses are public: the policy a registry client can be given
 * (`RegistryOptions.allowAddress`) so that a registry URL someone else chose cannot make regscan
 * reach the machine it runs on, its private network or a cloud metadata endpoint (SSRF).
 *
 * Not public: this network and the unspecified address, loopback, private (RFC 1918), carrier-grade
 * NAT, link-local (169.254.169.254 is the cloud metadata address), IETF protocol assignments,
 * benchmarking, multicast and everything above it; for IPv6 the unspecified and loopback
 * addresses, unique-local, link-local, site-local and multicast, and an IPv4 address embedded in
 * an IPv6 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64 `64:ff9b::/96`) is judged as
 * the IPv4 address it carries. Anything that is not an IP address is not public either.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const IPV4_NOT_PUBLIC: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 3], // multicast (224/4), reserved (240/4) and broadcast
];

const IPV6_NOT_PUBLIC: readonly [string, number][] = [
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const ipv4Blocked = new BlockList();
for (const [network, prefix] of IPV4_NOT_PUBLIC) ipv4Blocked.addSubnet(network, prefix, 'ipv4');
const ipv6Blocked = new BlockList();
for (const [network, prefix] of IPV6_NOT_PUBLIC) ipv6Blocked.addSubnet(network, prefix, 'ipv6');

/** An IPv6 address as its eight 16-bit groups (a trailing dotted quad and a zone allowed). */
function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.replace(/%.*$/, '');
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    if (!isIPv4(quad[1]!)) return undefined;
    const [a, b, c, d] = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -quad[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address in the last 32 bits of `groups`. */
function embeddedIPv4(groups: readonly number[]): string {
  const [hi, lo] = [groups[6]!, groups[7]!];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** Whether the first `n` groups are `prefix` followed by zeros. */
function startsWith(groups: readonly number[], prefix: readonly number[], n: number): boolean {
  for (let i = 0; i < n; i++) if (groups[i] !== (prefix[i] ?? 0)) return false;
  return true;
}

/**
 * True when `ip` (an IPv4 or IPv6 address, as `dns.lookup` or a URL gives it; IPv6 with or
 * without brackets) is a public unicast address; false for anything listed at the top of this
 * file and for anything that is not an IP address.
 */
export function isPublicAddress(ip: string): boolean {
  const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (isIPv4(address)) return !ipv4Blocked.check(address, 'ipv4');
  if (!isIPv6(address)) return false;
  const groups = ipv6Groups(address);
  if (!groups) return false;
  // ::/96: unspecified, loopback and the deprecated IPv4-compatible addresses
  if (startsWith(groups, [], 6)) return false;
  // IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96
  if (
    startsWith(groups, [0, 0, 0, 0, 0, 0xffff], 6) ||
    startsWith(groups, [0, 0, 0, 0, 0xffff, 0], 6) ||
    startsWith(groups, [0x64, 0xff9b], 6)
  ) {
    return isPublicAddress(embeddedIPv4(groups));
  }
  const normalised = groups.map((g) => g.toString(16)).join(':');
  return !ipv6Blocked.check(normalised, 'ipv6');
}
