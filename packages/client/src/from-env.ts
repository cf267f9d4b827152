import type { KeySource } from './key-source.js';

/**
 * The key in an environment variable (several keys may be separated by newlines), read at every
 * look-up. Where no `process.env` exists (browsers, some edge runtimes) pass `env` yourself.
 * Rotations made by the client live in memory only: the environment of a process cannot be persisted.
 * @example createClient({ baseUrl, keys: fromEnv('API_KEY') })
 */
export function fromEnv(name: string, env?: Record<string, string | undefined>): KeySource {
  return {
    read: () => (env ?? globalThis.process?.env)?.[name] ?? '',
  };
}
