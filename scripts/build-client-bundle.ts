/**
 * Pack-time step (`npm run build`): writes the browser bundle of `herald/client` to
 * dist/client/browser.js, so an installed package serves `/client.js` without esbuild (a
 * development dependency). From source (`npm start`), ops/client-bundle/index.ts builds it on first request.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildClientBundle, PREBUILT_BUNDLE } from '../ops/client-bundle/index.js';

const { code } = await buildClientBundle();
const file = new URL(`../dist/client/${PREBUILT_BUNDLE}`, import.meta.url);
mkdirSync(new URL('.', file), { recursive: true });
writeFileSync(file, code);
process.stdout.write(`client bundle: dist/client/${PREBUILT_BUNDLE} (${code.length} bytes)\n`);
