/** Messages between the counting proxy (owner side) and its thread. */
import type { CallCount } from '../../../shared/aws/index.js';

export interface ProxySettings {
  /** The emulator's endpoint, e.g. http://127.0.0.1:5000. */
  target: string;
  host: string;
}

export type ProxyRequest = { type: 'snapshot'; id: number } | { type: 'stop' };

export type ProxyReply =
  | { type: 'listening'; port: number }
  | { type: 'snapshot'; id: number; calls: CallCount[]; answerMs: Record<string, number> };
