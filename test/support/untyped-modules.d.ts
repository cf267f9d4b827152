// Type declarations for the test-only dependencies that ship none (type-checked by tsconfig.test.json).

declare module 'newman' {
  /** The options of `newman.run` the tests use (see newman's README for the rest). */
  export interface NewmanRunOptions {
    collection: string | object;
    folder?: string | string[];
    envVar?: { key: string; value: string }[];
    reporters?: string | string[];
    timeoutRequest?: number;
  }
  /** Runs a Postman collection; the summary's shape is newman's (run.failures, run.executions, run.stats). */
  export function run(options: NewmanRunOptions, callback: (err: Error | null, summary: unknown) => void): unknown;
  const newman: { run: typeof run };
  export default newman;
}
