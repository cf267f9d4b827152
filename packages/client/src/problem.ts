/** The fields of an RFC 9457 problem+json body the SDK reads. */
export interface Problem {
  code: string | undefined;
  detail: string | undefined;
  /** keyroll's admin API puts the verifier's code here when it answers 401 `UNAUTHORIZED`. */
  verifyCode: string | undefined;
}

/** Reads a problem+json body without consuming `res` (it reads a clone); `null` when the body is not a problem. */
export async function readProblem(res: Response): Promise<Problem | null> {
  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/(problem\+)?json/i.test(type)) return null;
  let body: unknown;
  try {
    body = await res.clone().json();
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const field = (name: string): string | undefined => {
    const value: unknown = Reflect.get(body, name);
    return typeof value === 'string' ? value : undefined;
  };
  return { code: field('code'), detail: field('detail'), verifyCode: field('verifyCode') };
}
