#!/usr/bin/env node
// Usage: node fake-kube-api.js <state-dir>   (prints the port it listens on, on 127.0.0.1)
//
// The smallest Kubernetes API that Helm's `lookup` needs, for HelmCheck.java: helm-java's template command asks
// a cluster for what `lookup` names (a real `helm template` answers nothing without one), and fails when no API
// server answers. Discovery says only that Secrets exist; GET of one Secret answers <state-dir>/<ns>/<name>.json
// when that file exists (an installed release, to check what an upgrade keeps), else 404 (a first install).
// Nothing is ever written.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const state = process.argv[2];
if (!state) {
  console.error('usage: fake-kube-api.js <state-dir>');
  process.exit(2);
}

const send = (res, code, body) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const notFound = (res, what) => send(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${what} not found` });

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost').pathname;
  process.stderr.write(`${req.method} ${url}\n`);
  if (req.method !== 'GET') return send(res, 405, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 405, message: 'read-only' });
  if (url === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
  if (url === '/apis') return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
  if (url === '/api/v1') {
    return send(res, 200, {
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: [{ name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list'] }],
    });
  }
  const secret = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/secrets\/([a-z0-9.-]+)$/.exec(url);
  if (secret) {
    const file = path.join(state, secret[1], `${secret[2]}.json`);
    return fs.existsSync(file) ? send(res, 200, JSON.parse(fs.readFileSync(file, 'utf8'))) : notFound(res, `secrets "${secret[2]}"`);
  }
  return notFound(res, url);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
