// Starts the system Chromium headless (playwright-core) with the flags that work as root on a machine
// without network, and serves the built page to it on loopback. Shared by the browser tests.

import { chromium } from 'playwright-core';
import { serve } from '../tools/serve.mjs';

/** Serves `dist` and launches Chromium; returns {browser, server, url}. Close both when done. */
export async function openChromium(dist, executablePath) {
  const server = await serve(dist);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return { browser, server, url };
}
