import { build, preview } from 'vite';
import { chromium } from 'playwright-core';
await build({ configFile: 'vite.config.ts', logLevel: 'warn' });
const server = await preview({ configFile: 'vite.config.ts', preview: { port: 0, host: '127.0.0.1' }, logLevel: 'warn' });
const url = server.resolvedUrls!.local[0]!;
const args = ['--headless=new', '--enable-unsafe-webgpu', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
for (const extra of process.argv.slice(2)) {
  const t = Date.now();
  const page = await b.newPage();
  await page.goto(`${url}?batch=8&seed=3&steps=3&autostart=1&logEvery=1&refresh=1&tune=off&shipped=0${extra}`);
  await page.waitForFunction(() => (window as any).__dcgan.done || (window as any).__dcgan.error, undefined, { timeout: 600_000 });
  const s = await page.evaluate(() => (window as any).__dcgan);
  console.log(extra, (Date.now() - t) / 1000, 's', s.error, JSON.stringify(s.losses?.map((l: any) => [l.d, l.g])), await page.textContent('#status'));
  await page.close();
}
await b.close();
server.httpServer.close();
process.exit(0);
