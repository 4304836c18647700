const fs = require('node:fs');
const path = require('node:path');

/** `NAME: env.…`, `NAME: z.…` or `NAME: <a schema constant>,`: how a config schema declares a variable it reads */
const DECLARED = /\b([A-Z][A-Z0-9_]+):\s*(?:(?:env|z)\.|[a-z]\w*\s*[,}\n])/g;

/**
 * The environment variables each service reads: those its config schema (apps/<app>/src/config.ts) declares,
 * and those of the shared groups it may spread (libs/shared/config). A chart variable outside that set is
 * silently ignored by the service, which is how a renamed or misspelt setting goes unnoticed.
 */
/** The variables an app's own config.ts declares, without the shared groups (`own(root)[app]`). */
function ownEnv(root) {
  const apps = path.join(root, 'apps');
  const byApp = {};
  for (const app of fs.readdirSync(apps)) {
    const config = path.join(apps, app, 'src', 'config.ts');
    if (fs.existsSync(config)) byApp[app] = new Set([...fs.readFileSync(config, 'utf8').matchAll(DECLARED)].map((m) => m[1]));
  }
  return byApp;
}

module.exports = function appEnv(root) {
  const names = (file) => new Set([...fs.readFileSync(file, 'utf8').matchAll(DECLARED)].map((m) => m[1]));
  const sharedDir = path.join(root, 'libs', 'shared', 'config', 'src');
  const shared = fs.readdirSync(sharedDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts')).flatMap((f) => [...names(path.join(sharedDir, f))]);
  const apps = path.join(root, 'apps');
  const byApp = {};
  for (const app of fs.readdirSync(apps)) {
    const config = path.join(apps, app, 'src', 'config.ts');
    if (fs.existsSync(config)) byApp[app] = new Set([...names(config), ...shared]);
  }
  return byApp;
};

module.exports.own = ownEnv;
