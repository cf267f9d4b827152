import { type Cidr, ipAllowed, parseCidr } from '@keyroll/core';

/**
 * The proxies in front of the gateway whose forwarding headers count: a request from one of them
 * keeps its `X-Forwarded-*` / `Forwarded` (appended to), and its client is read from `X-Forwarded-For`.
 */
export class TrustedProxies {
  readonly #ranges: readonly Cidr[];

  /** Takes addresses or CIDR ranges, already validated by the gateway configuration. */
  constructor(ranges: readonly string[]) {
    this.#ranges = ranges.flatMap((r) => {
      const cidr = parseCidr(r);
      return cidr ? [cidr] : [];
    });
  }

  /** True when the address is a trusted proxy's. */
  has(address: string | undefined): boolean {
    return address !== undefined && this.#ranges.length > 0 && ipAllowed(address, this.#ranges);
  }

  /**
   * The client's address: the socket's, unless that is a trusted proxy — then the right-most
   * `X-Forwarded-For` entry that is not a trusted proxy (an entry that is no address at all stops
   * the walk and is returned, so `allowedIps` refuses it).
   */
  clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined): string | undefined {
    if (!forwardedFor || !this.has(peer)) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    let address = peer;
    for (let i = hops.length - 1; i >= 0 && this.has(address); i--) {
      const hop = hops[i]?.trim() ?? '';
      if (hop !== '') address = hop;
    }
    return address;
  }
}
