import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../src/image/network.js';

/**
 * isPublicAddress: the edges of every range that is not public, on both sides, in IPv4, IPv6
 * and the IPv6 forms that carry an IPv4 address.
 */
describe('isPublicAddress', () => {
  const cases: [address: string, isPublic: boolean, why: string][] = [
    // IPv4: public
    ['8.8.8.8', true, 'a public resolver'],
    ['1.1.1.1', true, 'public'],
    ['9.255.255.255', true, 'just below 10/8'],
    ['11.0.0.0', true, 'just above 10/8'],
    ['100.63.255.255', true, 'just below 100.64/10'],
    ['100.128.0.0', true, 'just above 100.64/10'],
    ['126.255.255.255', true, 'just below 127/8'],
    ['128.0.0.0', true, 'just above 127/8'],
    ['169.253.255.255', true, 'just below 169.254/16'],
    ['169.255.0.0', true, 'just above 169.254/16'],
    ['172.15.255.255', true, 'just below 172.16/12'],
    ['172.32.0.0', true, 'just above 172.16/12'],
    ['192.0.1.0', true, 'just above 192.0.0/24'],
    ['192.167.255.255', true, 'just below 192.168/16'],
    ['192.169.0.0', true, 'just above 192.168/16'],
    ['198.17.255.255', true, 'just below 198.18/15'],
    ['198.20.0.0', true, 'just above 198.18/15'],
    ['223.255.255.255', true, 'the last unicast address'],
    // IPv4: not public
    ['0.0.0.0', false, 'unspecified'],
    ['0.255.255.255', false, '0/8'],
    ['10.0.0.0', false, '10/8'],
    ['10.255.255.255', false, '10/8'],
    ['100.64.0.0', false, 'carrier-grade NAT'],
    ['100.127.255.255', false, 'carrier-grade NAT'],
    ['127.0.0.1', false, 'loopback'],
    ['127.255.255.254', false, 'loopback'],
    ['169.254.169.254', false, 'cloud metadata'],
    ['169.254.0.1', false, 'link-local'],
    ['172.16.0.0', false, '172.16/12'],
    ['172.31.255.255', false, '172.16/12'],
    ['192.0.0.1', false, 'IETF protocol assignments'],
    ['192.168.0.1', false, '192.168/16'],
    ['198.18.0.0', false, 'benchmarking'],
    ['198.19.255.255', false, 'benchmarking'],
    ['224.0.0.1', false, 'multicast'],
    ['239.255.255.255', false, 'multicast'],
    ['240.0.0.1', false, 'reserved'],
    ['255.255.255.255', false, 'broadcast'],
    // IPv6: public
    ['2001:4860:4860::8888', true, 'a public resolver'],
    ['2606:4700:4700::1111', true, 'public'],
    ['[2001:4860:4860::8888]', true, 'in brackets, as in a URL'],
    ['64:ff9b::808:808', true, 'NAT64 of a public address'],
    ['::ffff:8.8.8.8', true, 'IPv4-mapped public address'],
    ['::ffff:808:808', true, 'IPv4-mapped public address, hex form'],
    ['fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true, 'just below fc00::/7'],
    ['fe00::1', true, 'between fc00::/7 and fe80::/10'],
    // IPv6: not public
    ['::', false, 'unspecified'],
    ['::1', false, 'loopback'],
    ['[::1]', false, 'loopback in brackets'],
    ['0:0:0:0:0:0:0:1', false, 'loopback, written out'],
    ['::127.0.0.1', false, 'IPv4-compatible (deprecated)'],
    ['::8.8.8.8', false, 'IPv4-compatible, even of a public address'],
    ['fc00::1', false, 'unique local'],
    ['fdff:ffff::1', false, 'unique local'],
    ['fe80::1', false, 'link-local'],
    ['fe80::1%eth0', false, 'link-local with a zone'],
    ['febf:ffff::1', false, 'link-local, last block'],
    ['fec0::1', false, 'site-local'],
    ['ff02::1', false, 'multicast'],
    ['::ffff:127.0.0.1', false, 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', false, 'IPv4-mapped loopback, hex form (as URLs write it)'],
    ['::ffff:169.254.169.254', false, 'IPv4-mapped cloud metadata'],
    ['::ffff:10.0.0.5', false, 'IPv4-mapped private'],
    ['0:0:0:0:0:ffff:c0a8:101', false, 'IPv4-mapped private, written out'],
    ['::ffff:0:10.0.0.5', false, 'IPv4-translated private'],
    ['64:ff9b::7f00:1', false, 'NAT64 of loopback'],
    ['64:ff9b::169.254.169.254', false, 'NAT64 of cloud metadata'],
    ['64:ff9b::a00:5', false, 'NAT64 of a private address'],
    ['64:ff9b:1::808:808', false, 'local-use NAT64'],
    // not addresses at all
    ['localhost', false, 'a name'],
    ['registry.example.com', false, 'a name'],
    ['', false, 'empty'],
    ['127.1', false, 'shorthand IPv4 (a URL normalises it; an address never has it)'],
    ['1.2.3.4.5', false, 'not an address'],
  ];

  it.each(cases)('%s → %s (%s)', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});
