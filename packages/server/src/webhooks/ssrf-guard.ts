import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ApiError } from '@keyroll/core';

/**
 * IANA special-purpose IPv4 ranges (and multicast, reserved, broadcast): none is a global unicast
 * address a webhook may reach. Ranges marked "globally reachable" there (e.g. 192.31.196.0/24, AS112)
 * are infrastructure, not webhook receivers, and are refused too.
 */
const SPECIAL_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.31.196.0', 24],
  ['192.52.193.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['192.175.48.0', 24],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
/** IPv6 global unicast space: everything outside it (::/96, ::ffff:0:0/96, 64:ff9b::/96, fc00::/7, fe80::/10, fec0::/10, ff00::/8, …) is refused. */
const GLOBAL_UNICAST_V6: readonly (readonly [string, number])[] = [['2000::', 3]];
/** IANA special-purpose IPv6 ranges inside 2000::/3. */
const SPECIAL_V6: readonly (readonly [string, number])[] = [
  // IETF protocol assignments: Teredo (2001::/32, embeds an IPv4 address), benchmarking, AMT, ORCHID…
  ['2001::', 23],
  ['2001:db8::', 32],
  // 6to4: embeds an IPv4 address.
  ['2002::', 16],
  ['2620:4f:8000::', 48],
  ['3fff::', 20],
  ['5f00::', 16],
];

function blockList(ranges: readonly (readonly [string, number])[], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [net, bits] of ranges) list.addSubnet(net, bits, family);
  return list;
}

const SPECIAL_V4_LIST = blockList(SPECIAL_V4, 'ipv4');
const GLOBAL_V6_LIST = blockList(GLOBAL_UNICAST_V6, 'ipv6');
const SPECIAL_V6_LIST = blockList(SPECIAL_V6, 'ipv6');
const MAPPED = blockList([['::ffff:0:0', 96]], 'ipv6');

/**
 * True only for a global unicast address: IPv4 outside every IANA special-purpose range, IPv6 inside
 * 2000::/3 and outside its special-purpose ranges. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, in
 * either spelling) is judged as its IPv4 address; anything unparsable is not global.
 */
export function isGlobalUnicast(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !SPECIAL_V4_LIST.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = mappedIpv4(address);
  if (mapped !== null) return !SPECIAL_V4_LIST.check(mapped, 'ipv4');
  return GLOBAL_V6_LIST.check(address, 'ipv6') && !SPECIAL_V6_LIST.check(address, 'ipv6');
}

/** True when a webhook may not reach `address` unless private targets are allowed: the complement of {@link isGlobalUnicast}. */
export function isPrivateAddress(address: string): boolean {
  return !isGlobalUnicast(address);
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:1.2.3.4` or `::ffff:102:304`), else null. */
function mappedIpv4(address: string): string | null {
  if (!MAPPED.check(address, 'ipv6')) return null;
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted?.[1]) return dotted[1];
  const hex = /:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex?.[1] || !hex[2]) return null;
  const high = Number.parseInt(hex[1], 16);
  const low = Number.parseInt(hex[2], 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
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
    throw new ApiError(
      'VALIDATION_FAILED',
      'url: private, loopback and reserved addresses are not allowed (only global unicast)',
      {
        field: 'url',
      },
    );
  }
  return url.toString();
}

/** True when a URL's host is an IP literal in a private range (connections to literals skip DNS). */
export function isPrivateLiteral(url: URL): boolean {
  const host = hostOf(url);
  return isIP(host) !== 0 && isPrivateAddress(host);
}
