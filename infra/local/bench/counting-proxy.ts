/**
 * A counting HTTP proxy in front of the emulator. Every AWS call of the processes pointed at
 * it (the embedded runtime, its functions' worker threads, the pilots, the bench itself) is
 * counted at the emulator's boundary by service and operation, without touching the code
 * being measured. It runs in a thread of its own, so forwarding never waits on the runtime's
 * event loop.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CallCount } from '../../../shared/aws/index.js';
import type { ProxyReply, ProxyRequest, ProxySettings } from './counting-proxy-protocol.js';

const WORKER_URL = new URL('./counting-proxy-worker.ts', import.meta.url);
const TSX_LOADER_URL = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CountingProxy {
  /** Point AWS_ENDPOINT_URL here. */
  endpoint: string;
  /** Calls forwarded so far, by service and operation. */
  snapshot(): Promise<CallCount[]>;
  /** Time the emulator took to answer so far (request to end of answer), in ms by `service:operation`. */
  answerTimes(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startCountingProxy(target: string, host = '127.0.0.1'): Promise<CountingProxy> {
  const worker = new Worker(WORKER_URL, {
    workerData: { target, host } satisfies ProxySettings,
    execArgv: ['--import', TSX_LOADER_URL],
  });
  type Snapshot = Extract<ProxyReply, { type: 'snapshot' }>;
  const waiting = new Map<number, { resolve: (reply: Snapshot) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  // A proxy that fails takes every count with it: whoever waits for one hears why.
  const fail = (error: Error) => {
    failure ??= error;
    for (const waiter of waiting.values()) waiter.reject(failure);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the counting proxy's thread exited with code ${code}`)));
  const listening = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (reply: ProxyReply) => {
      if (reply.type === 'listening') {
        resolve(reply.port);
        return;
      }
      waiting.get(reply.id)?.resolve(reply);
      waiting.delete(reply.id);
    });
  });
  const send = (message: ProxyRequest) => worker.postMessage(message);
  const port = await listening;
  const snapshot = () => {
    const id = nextId++;
    return new Promise<Snapshot>((resolve, reject) => {
      if (failure) {
        reject(failure);
        return;
      }
      waiting.set(id, { resolve, reject });
      send({ type: 'snapshot', id });
    });
  };
  return {
    endpoint: `http://${host}:${port}`,
    snapshot: async () => (await snapshot()).calls,
    answerTimes: async () => (await snapshot()).answerMs,
    async stop() {
      worker.removeAllListeners('exit');
      send({ type: 'stop' });
      await worker.terminate();
    },
  };
}
