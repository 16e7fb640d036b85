import type Docker from 'dockerode';
import { sleep } from '../time.js';

/** The stream ends when the engine stops; berth asks again this often until it answers. */
const RESUBSCRIBE_MS = 1000;

type EventStream = NodeJS.ReadableStream & { destroy(): void };

/**
 * Calls `onEvents` whenever the engine reports events matching `filters`, subscribing again after
 * the engine restarts. Events only make berth look sooner: nothing depends on having seen one,
 * since a stream misses what happens while it is down, so what they say is not read.
 */
export function followEngineEvents(docker: Docker, filters: Record<string, string[]>, onEvents: () => void): { stop(): void } {
  let stopped = false;
  let current: EventStream | undefined;
  const subscribe = async () => {
    while (!stopped) {
      try {
        current = (await docker.getEvents({ filters: JSON.stringify(filters) })) as EventStream;
        if (stopped) break;
        await untilEnded(current, onEvents);
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
      current?.destroy();
    },
  };
}

/** The engine writes to the stream only when something happens, so every chunk is news. */
function untilEnded(stream: EventStream, onEvents: () => void): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', () => onEvents());
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
}
