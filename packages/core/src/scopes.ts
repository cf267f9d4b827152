const SCOPE_RE = /^(?:\*|[a-z0-9][a-z0-9_.-]*(?::[a-z0-9_.-]+)*(?::\*)?)$/;

/** True when `scope` is a valid scope or grant: `read`, `keys:write`, `keys:*`, `*`. */
export function isValidScope(scope: string): boolean {
  return scope.length <= 100 && SCOPE_RE.test(scope);
}

/** True when the grant covers the required scope (exact, `prefix:*` wildcard or `*`). */
export function grantCovers(grant: string, required: string): boolean {
  if (grant === '*' || grant === required) return true;
  return grant.endsWith(':*') && required.startsWith(grant.slice(0, -1));
}

/** The required scopes that `grants` do not cover; empty when all are granted. */
export function missingScopes(grants: readonly string[], required: readonly string[]): string[] {
  // Plain loops: this runs on every verification that asks for scopes.
  const missing: string[] = [];
  for (const r of required) {
    let covered = false;
    for (const g of grants) {
      if (grantCovers(g, r)) {
        covered = true;
        break;
      }
    }
    if (!covered) missing.push(r);
  }
  return missing;
}
