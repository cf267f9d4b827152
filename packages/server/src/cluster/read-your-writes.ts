import type { Store } from '@keyroll/storage';

/**
 * The store as this node's services see it: a mutation returns only once `applyLocally` (this
 * node's change feed catching up) has run, so a key revoked through a node is refused by that
 * same node as soon as the revocation returns — whatever the feed's poll interval.
 */
export function readYourWrites(store: Store, applyLocally: () => Promise<void>): Store {
  return {
    ...store,
    mutate: async (fn) => {
      const result = await store.mutate(fn);
      await applyLocally();
      return result;
    },
  };
}
