import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ApiError } from '@keyroll/core';

/** Ranges a webhook may not reach unless private targets are allowed. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  // ::/96 holds the unspecified and loopback addresses and the deprecated IPv4-compatible ones
  // (::a.b.c.d); ::ffff:0:0/96 the IPv4-translated ones; 2002::/16 is 6to4 (embeds an IPv4 address).
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['2002::', 16],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** True when `address` is loopback, private, link-local, reserved or multicast (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped?.[1] ?? address;
  const family = isIP(ip);
  if (family === 0) return true;
  return PRIVATE.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** Thrown when a webhook target resolves to an address it may not reach. */
export class ForbiddenTargetError extends Error {
  override name = 'ForbiddenTargetError';
}

/**
 * A DNS lookup for outgoing connections that refuses private addresses; checking the address that is
 * actually connected to (not the name) also defeats DNS rebinding.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 4);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) {
      return callback(new ForbiddenTargetError(`${hostname} resolves to a private address`), '', 4);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new ForbiddenTargetError(`${hostname} has no address`), '', 4);
    return callback(null, first.address, first.family);
  });
};

/** Host of a URL without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Checks a webhook URL when it is registered: http(s), no credentials, and (unless private targets
 * are allowed) a host whose addresses are all public. 400 VALIDATION_FAILED otherwise.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'url: not a URL', { field: 'url' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ApiError('VALIDATION_FAILED', 'url: must be http or https', { field: 'url' });
  }
  if (url.username || url.password) {
    throw new ApiError('VALIDATION_FAILED', 'url: must not carry credentials', { field: 'url' });
  }
  if (allowPrivate) return url.toString();
  const host = hostOf(url);
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve) =>
        dnsLookup(host, { all: true }, (err, found) => resolve(err ? [] : found.map((a) => a.address))),
      );
  if (addresses.length === 0) {
    throw new ApiError('VALIDATION_FAILED', `url: ${host} does not resolve`, { field: 'url' });
  }
  if (addresses.some(isPrivateAddress)) {
    throw new ApiError('VALIDATION_FAILED', 'url: private, loopback and reserved addresses are not allowed', {
      field: 'url',
    });
  }
  return url.toString();
}

/** True when a URL's host is an IP literal in a private range (connections to literals skip DNS). */
export function isPrivateLiteral(url: URL): boolean {
  const host = hostOf(url);
  return isIP(host) !== 0 && isPrivateAddress(host);
}
