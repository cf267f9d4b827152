import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isGlobalUnicast, isPrivateAddress } from '../../src/webhooks/ssrf-guard.js';

/** One address inside each range a webhook may not reach, with the range it stands for. */
const REFUSED: readonly [range: string, address: string][] = [
  // IPv4: IANA special-purpose, multicast, reserved, broadcast.
  ['0.0.0.0/8', '0.1.2.3'],
  ['10.0.0.0/8', '10.200.0.1'],
  ['100.64.0.0/10', '100.127.255.254'],
  ['127.0.0.0/8', '127.1.2.3'],
  ['169.254.0.0/16', '169.254.169.254'],
  ['172.16.0.0/12', '172.31.0.1'],
  ['192.0.0.0/24', '192.0.0.9'],
  ['192.0.2.0/24', '192.0.2.10'],
  ['192.31.196.0/24', '192.31.196.1'],
  ['192.52.193.0/24', '192.52.193.1'],
  ['192.88.99.0/24', '192.88.99.1'],
  ['192.168.0.0/16', '192.168.255.1'],
  ['192.175.48.0/24', '192.175.48.6'],
  ['198.18.0.0/15', '198.19.1.1'],
  ['198.51.100.0/24', '198.51.100.7'],
  ['203.0.113.0/24', '203.0.113.99'],
  ['224.0.0.0/4', '239.255.255.250'],
  ['240.0.0.0/4', '250.1.2.3'],
  ['255.255.255.255/32', '255.255.255.255'],
  // IPv6 outside 2000::/3.
  ['::/128', '::'],
  ['::1/128', '::1'],
  ['::/96 (IPv4-compatible)', '::7f00:1'],
  ['::ffff:0:0/96 (IPv4-mapped, private IPv4)', '::ffff:10.0.0.1'],
  ['::ffff:0:0/96 (IPv4-mapped, hex spelling)', '::ffff:a9fe:a9fe'],
  ['::ffff:0:0:0/96 (IPv4-translated)', '::ffff:0:808:808'],
  ['64:ff9b::/96 (NAT64)', '64:ff9b::808:808'],
  ['64:ff9b:1::/48 (local NAT64)', '64:ff9b:1::a00:1'],
  ['100::/64 (discard)', '100::1'],
  ['fc00::/7 (unique local)', 'fd12:3456::1'],
  ['fe80::/10 (link-local)', 'fe80::1'],
  ['fec0::/10 (site-local, deprecated)', 'fec0::1'],
  ['ff00::/8 (multicast)', 'ff02::1'],
  ['4000::/2 (unassigned)', '4000::1'],
  // IPv6 special-purpose ranges inside 2000::/3.
  ['2001::/32 (Teredo)', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ['2001::/23 (IETF protocol assignments)', '2001:2::1'],
  ['2001:db8::/32 (documentation)', '2001:db8::1'],
  ['2002::/16 (6to4)', '2002:c000:204::1'],
  ['2620:4f:8000::/48 (AS112)', '2620:4f:8000::1'],
  ['3fff::/20 (documentation)', '3fff:0:1::1'],
  ['5f00::/16 (SRv6 SIDs)', '5f00::1'],
  ['not an address', 'example.com'],
];

const GLOBAL = ['8.8.8.8', '1.1.1.1', '192.0.1.1', '172.32.0.1', '100.128.0.1', '::ffff:8.8.8.8', '::ffff:808:808'];
const GLOBAL_V6 = ['2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001::1', '2001:200::1', '3ffe::1'];

describe('webhook targets: only global unicast addresses', () => {
  it.each(REFUSED)('refuses %s (%s)', (_range, address) => {
    expect(isGlobalUnicast(address)).toBe(false);
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([...GLOBAL, ...GLOBAL_V6])('allows the global unicast address %s', (address) => {
    expect(isGlobalUnicast(address)).toBe(true);
  });

  it.each([
    'http://[fec0::1]/hook',
    'http://[64:ff9b:1::a00:1]/hook',
    'http://[2001::1]/hook',
    'http://[5f00::1]/hook',
    'http://[::ffff:a9fe:a9fe]/latest',
    'http://192.88.99.1/hook',
  ])('refuses the literal target %s, unless KEYROLL_WEBHOOK_ALLOW_PRIVATE', async (url) => {
    await expect(checkWebhookUrl(url, false)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/global unicast/),
    });
    await expect(checkWebhookUrl(url, true)).resolves.toBe(new URL(url).toString());
  });

  it('accepts a global literal target', async () => {
    await expect(checkWebhookUrl('https://[2606:4700:4700::1111]/hook', false)).resolves.toBe(
      'https://[2606:4700:4700::1111]/hook',
    );
  });
});
