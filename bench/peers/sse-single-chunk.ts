/** Hand-written SSE server writing a turn's events in one chunk per client (see sse-hand.ts). */
import { sseServer } from './sse-hand.js';

export const start = sseServer('single-chunk');
