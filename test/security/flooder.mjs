// Flood client for test/security/floods.test.ts, run in its own process so its CPU does not count
// against the broker's latency. Plain JS (no tsx startup). Prints one JSON line when done.
//   node flooder.mjs connect <port> <localAddress> <count> <ms>    WebSocket upgrades, held open; refused ones retried at once
//   node flooder.mjs slowloris <port> <localAddress> <count> <ms>  request headers trickled one byte at a time; a cut socket is replaced
import { connect } from 'node:net';

const [mode, portText, localAddress, countText, msText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const duration = Number(msText);
const started = Date.now();
const stats = { opened: 0, upgraded: 0, refused: 0, closedByServer: 0, closeAfterMs: [], stillOpen: 0 };
const sockets = [];

function open(i) {
  const s = connect({ port, host: '127.0.0.1', localAddress });
  sockets.push(s);
  const born = Date.now();
  let gotData = false;
  let mine = false;
  s.on('error', () => undefined);
  s.on('connect', () => {
    stats.opened++;
    if (mode === 'connect') {
      s.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from(String(i).padStart(16, '0')).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    } else {
      s.write('GET /events?topic=a HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      const t = setInterval(() => { if (!s.destroyed) s.write('a'); else clearInterval(t); }, 200);
      s.once('close', () => clearInterval(t));
    }
  });
  s.on('data', (d) => {
    if (!gotData && mode === 'connect') {
      gotData = true;
      if (d.toString('latin1').startsWith('HTTP/1.1 101')) stats.upgraded++;
    }
  });
  s.on('close', () => {
    if (mine) return;
    if (mode === 'connect' && !gotData) {
      stats.refused++;
      // A flooding client retries at once: keep the pressure on for the whole run.
      if (!stopping) setTimeout(() => closers.push(open(i++)), 1);
      return;
    }
    else { stats.closedByServer++; stats.closeAfterMs.push(Date.now() - born); }
    // A slowloris attacker replaces each socket the server cut after holding it (refusals at accept
    // do not come back: that would be the connection flood, tested on its own).
    if (mode === 'slowloris' && !stopping && Date.now() - born > 500) closers.push(open(i++));
  });
  return () => { mine = true; s.destroy(); };
}

const closers = [];
let stopping = false;
let i = 0;
const wave = () => {
  for (let k = 0; k < 50 && i < count; k++) closers.push(open(i++));
  if (i < count) setTimeout(wave, 1);

};
wave();
setTimeout(() => {
  stopping = true;
  stats.stillOpen = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  stats.closeAfterMs.sort((a, b) => a - b);
  const d = stats.closeAfterMs;
  const out = { ...stats, closeAfterMs: undefined, closeAfterMedian: d[d.length >> 1] ?? null, closeAfterMax: d[d.length - 1] ?? null, elapsed: Date.now() - started };
  for (const c of closers) c();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}, duration);
