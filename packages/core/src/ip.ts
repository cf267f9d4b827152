import ipaddr from 'ipaddr.js';

/** A parsed CIDR range. */
export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address; `null` when invalid. */
export function parseCidr(input: string): Cidr | null {
  try {
    if (input.includes('/')) return ipaddr.parseCIDR(input);
    const addr = ipaddr.parse(input);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

/** True when `address` lies in one of the ranges (IPv4-mapped IPv6 addresses count as IPv4). */
export function ipAllowed(address: string, ranges: readonly Cidr[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(address);
  } catch {
    return false;
  }
  return ranges.some(([net, bits]) => addr.kind() === net.kind() && addr.match(net, bits));
}
