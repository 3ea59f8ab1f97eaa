/** Kept for existing imports (bench/); the frame builder lives in transports/shared/websocket-frame.ts. */
export { BINARY, frame, TEXT } from '../shared/websocket-frame.js';
