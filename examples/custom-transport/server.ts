/**
 * A broker with two transports: WebSocket on one port and the NDJSON-over-TCP plugin on another.
 * Both share one topic space. Run: npm run example:custom-transport
 * Then: `npx tsx examples/custom-transport/client.ts` and type {"op":"sub","id":1,"topic":"chat.>"}
 */
import { createBroker } from 'herald';
import { ws } from 'herald/transports/ws';
import { ndjson } from './ndjson-transport.js';

const tcp = ndjson({ port: Number(process.env.TCP_PORT ?? 4000) });
const broker = await createBroker({ port: Number(process.env.PORT ?? 3000), transports: [ws(), tcp] });
console.log(`listening: ws://127.0.0.1:${broker.address()!.port}/ws and ndjson tcp://127.0.0.1:${tcp.port}`);

const stop = () => void broker.close();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
