/** Why a request path was refused by {@link canonicalizePath}. */
export type PathRefusal =
  | 'NOT_ABSOLUTE'
  | 'INVALID_CHARACTER'
  | 'INVALID_PERCENT_ENCODING'
  | 'ENCODED_SEPARATOR'
  | 'PATH_PARAMETER'
  | 'DOT_SEGMENT'
  | 'DOUBLE_ENCODING'
  | 'INVALID_UTF8'
  | 'ASCII_LOOKALIKE';

/** The canonical form of a path, or why it has none. */
export type CanonicalPath = { ok: true; path: string } | { ok: false; reason: PathRefusal; detail: string };

const DETAIL: Record<PathRefusal, string> = {
  NOT_ABSOLUTE: 'the path must start with /',
  INVALID_CHARACTER:
    'the path holds a character that must be percent-encoded or may not appear (\\, #, space, control, non-ASCII)',
  INVALID_PERCENT_ENCODING: 'the path holds a % that is not followed by two hex digits',
  ENCODED_SEPARATOR: 'the path holds an encoded /, \\, ;, ?, # or control character',
  PATH_PARAMETER: 'the path holds a ; (path parameters are not accepted)',
  DOT_SEGMENT: 'the path holds a . or .. segment',
  DOUBLE_ENCODING: 'the path holds %25 followed by two hex digits (a double encoding)',
  INVALID_UTF8: 'the percent-encoded bytes are not valid UTF-8 (or are an overlong encoding)',
  ASCII_LOOKALIKE: 'the path holds percent-encoded text that Unicode normalisation or case mapping turns into ASCII',
};

/** 1 for characters that stand for themselves in a canonical path: unreserved, sub-delims but `;`, `:`, `@`, `/`. */
const PLAIN = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@/") {
  PLAIN[c.charCodeAt(0)] = 1;
}
/** 1 for the unreserved characters, which percent-encoding must not hide. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;

const HEX = '0123456789ABCDEF';
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;

/**
 * The one spelling of a request path (without its query) that the gateway matches routes on and
 * forwards: percent-encoded unreserved characters decoded, other escapes with upper-case hex, `//`
 * collapsed. Refused: a path not starting with `/`; raw `\`, `#`, `;`, spaces, controls or
 * non-ASCII; encoded `/`, `\`, `;`, `?`, `#` or controls; dot segments (also encoded); malformed escapes;
 * `%25` followed by two hex digits; encoded bytes that are not strict UTF-8; encoded text that
 * NFKC or case mapping turns into ASCII. Canonical ASCII paths are returned as given, unscanned twice.
 */
export function canonicalizePath(path: string): CanonicalPath {
  if (path.charCodeAt(0) !== 47) return refuse('NOT_ABSOLUTE');
  return isCanonicalAscii(path) ? { ok: true, path } : slowCanonical(path);
}

/** True when every character stands for itself and there is no `//` and no dot segment: the fast path. */
function isCanonicalAscii(p: string): boolean {
  let segStart = 1;
  for (let i = 1; i <= p.length; i++) {
    const c = i < p.length ? p.charCodeAt(i) : 47;
    if (c === 47) {
      const len = i - segStart;
      if (len === 0) {
        if (i !== p.length) return false;
      } else if (len <= 2 && p.charCodeAt(segStart) === 46 && (len === 1 || p.charCodeAt(segStart + 1) === 46)) {
        return false;
      }
      segStart = i + 1;
    } else if (c >= 128 || PLAIN[c] === 0) {
      return false;
    }
  }
  return true;
}

function slowCanonical(p: string): CanonicalPath {
  const segments: string[] = [];
  let seg = '';
  let i = 1;
  while (i <= p.length) {
    const c = i < p.length ? p.charCodeAt(i) : 47;
    if (c === 47) {
      if (seg === '.' || seg === '..') return refuse('DOT_SEGMENT');
      // Empty segments collapse: `//` reads as `/`; a trailing `/` is kept below.
      if (seg !== '') segments.push(seg);
      seg = '';
      i++;
      continue;
    }
    if (c === 37) {
      const bytes: number[] = [];
      // A run of consecutive escapes is read at once so that multi-byte UTF-8 is checked whole.
      while (i < p.length && p.charCodeAt(i) === 37) {
        const b = hexByte(p, i + 1);
        if (b < 0) return refuse('INVALID_PERCENT_ENCODING');
        if (b < 128) {
          if (bytes.length > 0) break;
          if (UNRESERVED[b] === 1) seg += String.fromCharCode(b);
          // An encoded `?` or `#` ends the path for an upstream that decodes before it splits off the query.
          else if (b === 47 || b === 92 || b === 59 || b === 63 || b === 35 || b < 32 || b === 127)
            return refuse('ENCODED_SEPARATOR');
          else seg += `%${HEX[b >> 4]}${HEX[b & 15]}`;
          i += 3;
          continue;
        }
        bytes.push(b);
        i += 3;
      }
      if (bytes.length > 0) {
        const text = decodeUtf8(bytes);
        if (text === null) return refuse('INVALID_UTF8');
        // Upstreams that NFKC-normalise or case-fold would read `ａｄｍｉｎ`, `／` or `K` (Kelvin) as ASCII.
        if (hasAscii(text.normalize('NFKC')) || hasAscii(text.toLowerCase()) || hasAscii(text.toUpperCase())) {
          return refuse('ASCII_LOOKALIKE');
        }
        for (const b of bytes) seg += `%${HEX[b >> 4]}${HEX[b & 15]}`;
      }
      continue;
    }
    if (c === 59) return refuse('PATH_PARAMETER');
    if (c >= 128 || PLAIN[c] === 0) return refuse('INVALID_CHARACTER');
    seg += p[i];
    i++;
  }
  const trailing = p.length > 1 && p.charCodeAt(p.length - 1) === 47 && segments.length > 0;
  const out = `/${segments.join('/')}${trailing ? '/' : ''}`;
  // `%25` then hex would decode, in an upstream that decodes twice, to another character.
  if (DOUBLE_ENCODED.test(out)) return refuse('DOUBLE_ENCODING');
  return { ok: true, path: out };
}

function hexByte(p: string, at: number): number {
  if (at + 1 >= p.length) return -1;
  const hi = hexValue(p.charCodeAt(at));
  const lo = hexValue(p.charCodeAt(at + 1));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function decodeUtf8(bytes: number[]): string | null {
  try {
    // The WHATWG decoder in fatal mode refuses overlong forms (%C0%AF), surrogates and truncation.
    return STRICT_UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

function hasAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 128) return true;
  return false;
}

function refuse(reason: PathRefusal): CanonicalPath {
  return { ok: false, reason, detail: DETAIL[reason] };
}
