import { describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../src/webhooks/ssrf-guard.js';

describe('webhook targets: IPv6 forms that embed an IPv4 address', () => {
  it('counts IPv4-compatible, IPv4-translated and 6to4 addresses as private', () => {
    for (const address of [
      '::7f00:1',
      '::127.0.0.1',
      '::ffff:0:7f00:1',
      '2002:7f00:1::',
      '2002:a9fe:a9fe::1',
      '::',
      '::1',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });

  it('still lets public IPv6 addresses through', () => {
    for (const address of ['2606:4700:4700::1111', '2001:4860:4860::8888']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });
});
