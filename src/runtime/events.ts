import type Docker from 'dockerode';
import { sleep } from '../proxy/processes.js';

/** The fields of an event from the engine's /events stream that berth reads. */
export interface EngineEvent {
  Type: string;
  Action: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The stream ends when the engine stops; berth asks again this often until it answers. */
const RESUBSCRIBE_MS = 1000;

/**
 * Follows the engine's events until stopped, subscribing again after the engine restarts.
 * Events only make berth look sooner: nothing depends on having seen one, since a stream can
 * miss events while it is down.
 */
export function followEngineEvents(docker: Docker, filters: Record<string, string[]>, onEvent: (event: EngineEvent) => void): { stop(): void } {
  let stopped = false;
  let current: NodeJS.ReadableStream | undefined;
  const subscribe = async () => {
    while (!stopped) {
      try {
        current = await docker.getEvents({ filters: JSON.stringify(filters) });
        if (stopped) break;
        await eachLine(current, (line) => {
          const event = parseEvent(line);
          if (event) onEvent(event);
        });
      } catch {
        // The engine is down or restarting: ask again.
      }
      if (!stopped) await sleep(RESUBSCRIBE_MS);
    }
  };
  void subscribe();
  return {
    stop: () => {
      stopped = true;
      (current as (NodeJS.ReadableStream & { destroy?(): void }) | undefined)?.destroy?.();
    },
  };
}

function parseEvent(line: string): EngineEvent | undefined {
  try {
    return JSON.parse(line) as EngineEvent;
  } catch {
    return undefined;
  }
}

/** Newline-delimited JSON arrives in arbitrary chunks: a line may span two of them. */
function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let partial = '';
    stream.on('data', (chunk: Buffer | string) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    });
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
}
