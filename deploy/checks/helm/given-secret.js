#!/usr/bin/env node
// Usage: node given-secret.js <namespace> <name> [key-to-leave-out…]   (prints the Secret as JSON)
//
// A Secret as an operator makes it for secrets.existingSecret with the sandbox enabled (docs/deployment.md): the
// keys every service reads, and the two AMS key pairs as PEM files from openssl would be: the merchant's (the
// connector signs with ALIPAY_PRIVATE_KEY, the sandbox verifies with SANDBOX_MERCHANT_PUBLIC_KEY) and the
// sandbox's (it signs with SANDBOX_PRIVATE_KEY, the connector verifies with ALIPAY_PUBLIC_KEY). The stand-in
// Kubernetes API answers `lookup` with it, and validate-app-config.js reads the services' environment from it.
const crypto = require('node:crypto');

const [namespace, name, ...leaveOut] = process.argv.slice(2);
if (!namespace || !name) {
  console.error('usage: given-secret.js <namespace> <name> [key-to-leave-out…]');
  process.exit(2);
}

const pair = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const merchant = pair();
const sandbox = pair();
const database = (db) => `postgres://upm:upm@postgresql:5432/${db}`;
const values = {
  GATEWAY_DATABASE_URL: database('upm_gateway'),
  ORCHESTRATOR_DATABASE_URL: database('upm_orchestrator'),
  CONNECTOR_DATABASE_URL: database('upm_connector'),
  SETTLEMENT_DATABASE_URL: database('upm_settlement'),
  NOTIFICATION_DATABASE_URL: database('upm_notification'),
  REDIS_URL: 'redis://redis:6379/0',
  ADMIN_TOKEN: crypto.randomBytes(32).toString('hex'),
  WEBHOOK_SECRET_KEYS: crypto.randomBytes(32).toString('base64'),
  ALIPAY_CLIENT_ID: 'SANDBOX_UPM_GIVEN',
  ALIPAY_PRIVATE_KEY: merchant.privateKey,
  ALIPAY_PUBLIC_KEY: sandbox.publicKey,
  SANDBOX_PRIVATE_KEY: sandbox.privateKey,
  SANDBOX_MERCHANT_PUBLIC_KEY: merchant.publicKey,
};
for (const key of leaveOut) delete values[key];

const data = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', data })}\n`);
