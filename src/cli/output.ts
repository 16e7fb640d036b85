/** How a command's result reaches stdout: as text, or with --json as berth sent it. */
import type { AnyEndpoint, ParamsOf, RequestOf, ResponseOf } from '../model/api.js';
import type { Invocation } from './command.js';

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** With --json the result as berth sent it, otherwise what render makes of it. */
export function show<T>(invocation: Invocation, result: T, render: (result: T) => string): void {
  print(invocation.json ? JSON.stringify(result, null, 2) : render(result));
}

/** berth's lines go to stdout as they arrive (not with --json); resolves with the final result. */
export function streamed<E extends AnyEndpoint>(invocation: Invocation, endpoint: E, params: ParamsOf<E>, request: RequestOf<E>): Promise<ResponseOf<E>> {
  return invocation.client().stream(endpoint, params, request, invocation.json ? () => undefined : print);
}
