#!/usr/bin/env node
// Compiles apps, libs and tools to CommonJS under dist/ with SWC, keeping the folder layout and rewriting the
// `@upm/*` path aliases of tsconfig.base.json into relative requires. Type checking is `npm run typecheck`.
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'dist');
const { compilerOptions } = require(path.join(root, 'tsconfig.base.json'));
const sources = ['apps', 'libs', 'tools'];
const isTest = (file) => /\.(spec|int-spec|e2e-spec)\.ts$/.test(file) || file.includes(`${path.sep}test${path.sep}`);

function* walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !isTest(full)) yield full;
  }
}

const options = (file) => ({
  filename: file,
  sourceMaps: true,
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
    baseUrl: root,
    paths: compilerOptions.paths,
  },
  module: { type: 'commonjs' },
});

async function main() {
  const files = sources.flatMap((s) => (fs.existsSync(path.join(root, s)) ? [...walk(path.join(root, s))] : []));
  const stamp = path.join(out, '.built');
  if (process.argv.includes('--if-stale') && fs.existsSync(stamp)) {
    const built = fs.statSync(stamp).mtimeMs;
    if (files.every((file) => fs.statSync(file).mtimeMs <= built)) return;
  }
  // build beside dist/ and swap it in at the end, so processes starting meanwhile never see half a build
  const next = `${out}.next-${process.pid}`;
  fs.rmSync(next, { recursive: true, force: true });
  await Promise.all(
    files.map(async (file) => {
      const target = path.join(next, path.relative(root, file)).replace(/\.ts$/, '.js');
      const { code, map } = await swc.transformFile(file, options(file));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, `${code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
      if (map) fs.writeFileSync(`${target}.map`, map);
    }),
  );
  fs.writeFileSync(path.join(next, '.built'), new Date().toISOString());
  const old = `${out}.old-${process.pid}`;
  if (fs.existsSync(out)) fs.renameSync(out, old);
  fs.renameSync(next, out);
  fs.rmSync(old, { recursive: true, force: true });
  console.log(`compiled ${files.length} files into dist/`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
