import { originalTarget } from '@keyroll/gateway';
import { describe, expect, it } from 'vitest';

const call = (rawHeaders: string[], suffix: string | null = null, method = 'GET') =>
  originalTarget({ method, suffix, rawHeaders });

describe('forward-auth: reading the original request from proxy headers', () => {
  it('reads the nginx convention (X-Original-Method / X-Original-URI)', () => {
    expect(call(['X-Original-Method', 'POST', 'X-Original-URI', '/api/orders?x=1'])).toEqual({
      ok: true,
      target: { method: 'POST', path: '/api/orders' },
    });
  });

  it('reads the Caddy / Traefik convention (X-Forwarded-Method / X-Forwarded-Uri)', () => {
    expect(call(['x-forwarded-method', 'DELETE', 'x-forwarded-uri', '/api/%7Eme'])).toEqual({
      ok: true,
      target: { method: 'DELETE', path: '/api/~me' },
    });
  });

  it("reads Envoy's convention: the path after /v1/forward-auth and the call's own method", () => {
    expect(call([], '/api/orders?limit=5', 'PUT')).toEqual({
      ok: true,
      target: { method: 'PUT', path: '/api/orders' },
    });
  });

  it('accepts both conventions when they name the same request (after canonicalisation)', () => {
    const r = call(['X-Original-URI', '/api//a', 'X-Forwarded-Uri', '/api/a', 'X-Forwarded-Method', 'GET']);
    expect(r).toEqual({ ok: true, target: { method: 'GET', path: '/api/a' } });
  });

  it('names nothing when no convention is present', () => {
    expect(call(['x-api-key', 'k'])).toEqual({ ok: true, target: { method: null, path: null } });
  });

  it('refuses conventions that disagree: a client cannot add the other header to be judged on another path', () => {
    for (const raw of [
      ['X-Original-URI', '/admin', 'X-Forwarded-Uri', '/public'],
      ['X-Original-Method', 'DELETE', 'X-Forwarded-Method', 'GET'],
    ]) {
      const r = call(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.refusal).toMatchObject({ code: 'VALIDATION_FAILED', reason: 'CONFLICTING_HEADERS' });
    }
    const envoy = call(['X-Forwarded-Uri', '/public'], '/admin', 'GET');
    expect(envoy.ok).toBe(false);
  });

  it('refuses a header given twice', () => {
    const r = call(['X-Original-URI', '/public', 'x-original-uri', '/admin']);
    expect(r.ok ? null : r.refusal).toMatchObject({ reason: 'DUPLICATE_HEADER', field: 'x-original-uri' });
  });

  it('refuses what the gateway refuses: dot segments, encoded separators, double encoding, fragments, other forms', () => {
    const cases: [string, string][] = [
      ['/public/../admin', 'DOT_SEGMENT'],
      ['/public/%2e%2e/admin', 'DOT_SEGMENT'],
      ['/api%2Fadmin', 'ENCODED_SEPARATOR'],
      ['/api/%252e', 'DOUBLE_ENCODING'],
      ['/api;x=1', 'PATH_PARAMETER'],
      ['/api\\admin', 'INVALID_CHARACTER'],
      ['/api#x', 'INVALID_CHARACTER'],
      ['*', 'NOT_ABSOLUTE'],
      ['admin', 'NOT_ABSOLUTE'],
    ];
    for (const [uri, reason] of cases) {
      const r = call(['X-Original-URI', uri]);
      expect(r.ok ? null : r.refusal, uri).toMatchObject({ code: 'INVALID_PATH', reason, field: 'x-original-uri' });
    }
    const envoy = call([], '/public/../admin');
    expect(envoy.ok ? null : envoy.refusal).toMatchObject({
      code: 'INVALID_PATH',
      reason: 'DOT_SEGMENT',
      field: 'path',
    });
  });

  it('reads an absolute-form URI by its path, as the gateway does', () => {
    expect(call(['X-Forwarded-Uri', 'http://evil.example/api/x?q'])).toEqual({
      ok: true,
      target: { method: null, path: '/api/x' },
    });
  });

  it('refuses a method that is no HTTP token, without echoing it', () => {
    const r = call(['X-Original-Method', 'GET /admin']);
    expect(r.ok ? null : r.refusal).toMatchObject({ reason: 'INVALID_METHOD' });
    if (!r.ok) expect(r.refusal.detail).not.toContain('/admin');
  });

  it('treats an empty header as absent (nginx sends none for an empty proxy_set_header)', () => {
    expect(call(['X-Forwarded-Uri', '', 'X-Original-URI', '/a'])).toEqual({
      ok: true,
      target: { method: null, path: '/a' },
    });
  });
});
