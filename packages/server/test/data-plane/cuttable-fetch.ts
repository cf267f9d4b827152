/** A fetch whose link to the control plane a test can cut (open streams break, new requests fail) and restore. */
export interface CuttableFetch {
  fetch: typeof fetch;
  cut(): void;
  restore(): void;
  /** Requests made, by path. */
  requests: string[];
}

/** Wraps the global fetch so that a test can cut the link without stopping the node. */
export function cuttableFetch(): CuttableFetch {
  let cut = false;
  const live = new Set<AbortController>();
  const requests: string[] = [];
  return {
    requests,
    fetch: async (input, init) => {
      requests.push(new URL(String(input)).pathname);
      if (cut) throw new TypeError('fetch failed: link cut by the test');
      const controller = new AbortController();
      init?.signal?.addEventListener('abort', () => controller.abort());
      live.add(controller);
      return fetch(input, { ...init, signal: controller.signal });
    },
    cut: () => {
      cut = true;
      for (const c of live) c.abort();
      live.clear();
    },
    restore: () => {
      cut = false;
    },
  };
}
