/**
 * A tiny NDJSON client for the custom transport (what `nc` would do, with nothing to install):
 * each line typed (or piped) in goes to the broker, each line from the broker is printed.
 * When the input ends it waits for the replies to the commands it sent, then exits.
 * Run: npx tsx examples/custom-transport/client.ts [port]   (default 4000, host 127.0.0.1)
 */
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2] ?? process.env.TCP_PORT ?? 4000);
const socket = connect(port, '127.0.0.1');
/** Ids of commands sent and not answered yet. */
const waiting = new Set<unknown>();
let inputDone = false;

const finishIfDone = (): void => {
  if (inputDone && waiting.size === 0) socket.end();
};

createInterface({ input: socket }).on('line', (line) => {
  console.log(line);
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    if (id !== undefined && waiting.delete(id)) finishIfDone();
  } catch {
    // not JSON: printed as it came
  }
});

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === '') return;
  try {
    const id = (JSON.parse(line) as { id?: unknown }).id;
    if (id !== undefined) waiting.add(id);
  } catch {
    // sent anyway: the broker answers a line that is not JSON with an error
  }
  socket.write(`${line}\n`);
});
input.on('close', () => {
  inputDone = true;
  finishIfDone();
});

socket.on('error', (err) => {
  console.error(`cannot talk to 127.0.0.1:${port}: ${err.message}`);
  process.exitCode = 1;
});
socket.on('close', () => process.exit());
