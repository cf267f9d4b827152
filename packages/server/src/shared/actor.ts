/** Who performs an action, as written into the audit log. */
export interface Actor {
  kind: 'root' | 'consumer' | 'system';
  /** The key that authenticated the request, or the system component. */
  id: string;
  /** Scopes the actor holds; a root key can only grant what it holds itself. */
  scopes: readonly string[];
}

/** The actor for work keyroll does by itself (bootstrap, scheduler). */
export function systemActor(component: string): Actor {
  return { kind: 'system', id: component, scopes: ['*'] };
}

/** The audit log's name for an actor. */
export function actorName(actor: Actor): string {
  return `${actor.kind}:${actor.id}`;
}
