const fs = require('node:fs');
const path = require('node:path');

/**
 * The services with an admin API, read from their config schemas (those that spread `adminTokenEnv`). The
 * image sets NODE_ENV=production, where such a service refuses to start without ADMIN_TOKEN, so every
 * deployment must hand it one.
 */
module.exports = function adminApps(root) {
  const apps = path.join(root, 'apps');
  return fs.readdirSync(apps).filter((app) => {
    const config = path.join(apps, app, 'src', 'config.ts');
    return fs.existsSync(config) && /\.\.\.adminTokenEnv\b/.test(fs.readFileSync(config, 'utf8'));
  });
};
