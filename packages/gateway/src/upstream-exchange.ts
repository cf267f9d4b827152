import type { ServerResponse } from 'node:http';
import type { AnswerHeaders } from '@keyroll/verifier';
import type { Dispatcher } from 'undici';
import { clientResponseHeaders } from './forward-headers.js';

/**
 * Relays one upstream response to the client as undici delivers it: headers (without hop-by-hop
 * ones, plus the gateway's own), then each chunk with back-pressure, then the end. A client that
 * goes away aborts the upstream request. Failures before the first byte go to `onFailure`.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #added: AnswerHeaders | null;
  readonly #onFailure: (error: Error) => void;

  constructor(res: ServerResponse, added: AnswerHeaders | null, onFailure: (error: Error) => void) {
    this.#res = res;
    this.#added = added;
    this.#onFailure = onFailure;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#res.once('close', () => {
      if (!this.#res.writableFinished && !controller.aborted) controller.abort(new Error('the client went away'));
    });
  }

  onResponseStart(
    _c: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    const out = clientResponseHeaders(headers);
    this.#res.writeHead(statusCode, this.#added ? { ...out, ...this.#added } : out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk)) return;
    controller.pause();
    this.#res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.#res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    if (this.#res.destroyed) return;
    // Once the response has begun, the only honest signal left is to cut the connection.
    if (this.#res.headersSent) this.#res.destroy();
    else this.#onFailure(error);
  }
}
