/** Hand-written SSE server writing each event to each client (see sse-hand.ts). */
import { sseServer } from './sse-hand.js';

export const start = sseServer('per-event');
