// Shared helpers for the Node.js end-to-end tests of Scytale.
//
// The server under test is given through the environment:
//   SCYTALE_ENDPOINT        e.g. http://127.0.0.1:41234
//   AWS_ACCESS_KEY_ID       admin access key id of that server
//   AWS_SECRET_ACCESS_KEY   its secret
//   AWS_REGION              region the clients sign for (e.g. us-east-1)
// tests/e2e/test_node_sdk.py starts a server and sets these; to run by hand against a
// running server: `SCYTALE_ENDPOINT=... AWS_...=... node --test` in this folder.

import { randomUUID } from 'node:crypto';
import { KMS } from '@aws-sdk/client-kms';

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: these tests need a running Scytale server ` +
      '(SCYTALE_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)');
  }
  return v;
}

export const ENDPOINT = required('SCYTALE_ENDPOINT');
export const ACCESS_KEY_ID = required('AWS_ACCESS_KEY_ID');
export const SECRET_ACCESS_KEY = required('AWS_SECRET_ACCESS_KEY');
export const REGION = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// arn:aws:kms:<region>:<12-digit account>:key/<uuid>
export function keyArnRe(region = REGION, keyId = null) {
  const id = keyId ? keyId.replace(/[-]/g, '\\-') : '[0-9a-f-]{36}';
  return new RegExp(`^arn:aws:kms:${region}:\\d{12}:key/${id}$`);
}

// Client options shared by every client: endpoint, static credentials, no retries (an
// error must surface at once, as the server sent it) and bounded timeouts.
export function clientConfig({ region = REGION, accessKeyId = ACCESS_KEY_ID,
  secretAccessKey = SECRET_ACCESS_KEY } = {}) {
  return {
    endpoint: ENDPOINT,
    region,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  };
}

// The aggregated v3 client (`kms.encrypt(...)`), the one the Encryption SDK also uses.
export function kmsClient(opts = {}) {
  return new KMS(clientConfig(opts));
}

export function randomKeyId() {
  return randomUUID();
}

// Runs `fn` and returns the error it rejected with; fails if it succeeded.
export async function rejection(fn) {
  try {
    const v = await fn();
    throw Object.assign(new Error(`expected a rejection, got ${JSON.stringify(v)}`),
      { notRejected: true });
  } catch (e) {
    if (e && e.notRejected) throw e;
    return e;
  }
}

// Short description of an SDK error, for assertion messages.
export function describeError(e) {
  if (!e) return String(e);
  return `${e.constructor?.name} name=${e.name} message=${JSON.stringify(e.message)} ` +
    `status=${e.$metadata?.httpStatusCode} requestId=${e.$metadata?.requestId} ` +
    `fault=${e.$fault}`;
}
