/** What a response says about the deprecation of the key that made it. */
export interface DeprecationNotice {
  /** When the key stops working (`Sunset`, RFC 8594), if the response says. */
  retiresAt: Date | undefined;
  /** Since when the key is deprecated (`Deprecation`, RFC 9745), if the response says. */
  deprecatedAt: Date | undefined;
}

/** Reads `Deprecation` / `Sunset`; `null` when the response carries neither. */
export function readDeprecation(headers: Headers): DeprecationNotice | null {
  const deprecation = headers.get('deprecation');
  const sunset = headers.get('sunset');
  if (deprecation === null && sunset === null) return null;
  return { retiresAt: httpDate(sunset), deprecatedAt: structuredDate(deprecation) };
}

function httpDate(value: string | null): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** RFC 9745 sends `@<epoch seconds>`; older drafts sent an HTTP date or `true`. */
function structuredDate(value: string | null): Date | undefined {
  if (!value) return undefined;
  const m = /^@(-?\d+)$/.exec(value.trim());
  return m ? new Date(Number(m[1]) * 1000) : httpDate(value);
}
