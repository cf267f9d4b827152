/** The Node.js entry point: everything of the main entry plus the file source. */

export { type FileSourceOptions, fromFile } from './from-file.js';
export * from './index.js';
