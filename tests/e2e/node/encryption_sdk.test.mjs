// The AWS Encryption SDK for JavaScript (@aws-crypto/client-node) with a KMS keyring whose
// KMS client is an @aws-sdk/client-kms `KMS` pointed at Scytale.
//
// The keyring calls GenerateDataKey (generator key), Encrypt (further keys) and Decrypt
// (with KeyId set and the message's full encryption context) on the server. The commitment
// policy is the SDK's default (REQUIRE_ENCRYPT_REQUIRE_DECRYPT), so the default suite is
// the committing, ECDSA-signed one.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  AlgorithmSuiteIdentifier,
  CommitmentPolicy,
  KMS,
  KmsKeyringNode,
  buildClient,
  getClient,
} from '@aws-crypto/client-node';
import { KMS as SdkKMS } from '@aws-sdk/client-kms';

import { clientConfig, describeError, kmsClient, rejection } from './common.mjs';

const { encrypt, decrypt, encryptStream, decryptStream } = buildClient();
const MiB = 1024 * 1024;

// A clientProvider for KmsKeyringNode: the SDK hands it the region taken from the key
// ARN and gets back a `KMS` client configured for Scytale. `getClient(KMS, config)` is the
// Encryption SDK's own factory for that; overrides give wrong credentials.
const allClients = []; // every client a provider made, closed at the end

function scytaleClientProvider(overrides = {}) {
  const provider = getClient(KMS, clientConfig(overrides));
  return (region) => {
    const c = provider(region);
    allClients.push(c);
    return c;
  };
}

function keyring({ generatorKeyId, keyIds = [], discovery = false, ...overrides } = {}) {
  const clientProvider = scytaleClientProvider(overrides);
  return discovery
    ? new KmsKeyringNode({ clientProvider, discovery: true })
    : new KmsKeyringNode({ clientProvider, generatorKeyId, keyIds });
}

async function collect(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

// Every key/value of `expected` is in the header's encryption context.
function assertContextIn(headerContext, expected) {
  for (const [k, v] of Object.entries(expected)) {
    assert.equal(headerContext[k], v, `context ${k} in ${JSON.stringify(headerContext)}`);
  }
}

describe('AWS Encryption SDK with a KMS keyring on Scytale', () => {
  const admin = kmsClient();
  let keyA;
  let keyB;
  let keyC;

  before(async () => {
    keyA = (await admin.createKey({ Description: 'esdk generator' })).KeyMetadata;
    keyB = (await admin.createKey({ Description: 'esdk additional' })).KeyMetadata;
    keyC = (await admin.createKey({ Description: 'esdk unrelated' })).KeyMetadata;
  });

  after(() => {
    admin.destroy();
    for (const c of allClients) c.destroy();
  });

  test('getClient(KMS, ...) gives an @aws-sdk/client-kms KMS client', () => {
    assert.equal(KMS, SdkKMS, 'the keyring uses a different copy of @aws-sdk/client-kms');
    assert.equal(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT');
  });

  test('encrypt / decrypt 1 MiB with an encryption context', async () => {
    const t = keyring({ generatorKeyId: keyA.Arn });
    const plaintext = randomBytes(MiB);
    const context = { stage: 'demo', purpose: 'node e2e', origin: 'us-east-1' };

    const { result, messageHeader: encHeader } = await encrypt(t, plaintext, {
      encryptionContext: context,
    });
    assert.ok(Buffer.isBuffer(result));
    assert.ok(result.length > MiB, `ciphertext only ${result.length} bytes`);
    assert.ok(!result.includes(plaintext.subarray(0, 64)), 'plaintext visible in the message');
    // Default policy: committing suite with ECDSA P-384 signature.
    assert.equal(encHeader.suiteId,
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384);
    assertContextIn(encHeader.encryptionContext, context);
    assert.equal(encHeader.encryptedDataKeys.length, 1);
    const edk = encHeader.encryptedDataKeys[0];
    assert.equal(edk.providerId, 'aws-kms');
    assert.equal(edk.providerInfo, keyA.Arn);

    // The KMS ciphertext of the data key is one that Scytale itself decrypts with the
    // message's full encryption context (including aws-crypto-public-key).
    const dk = await admin.decrypt({
      CiphertextBlob: edk.encryptedDataKey, EncryptionContext: encHeader.encryptionContext,
    });
    assert.equal(dk.KeyId, keyA.Arn);
    assert.equal(dk.Plaintext.length, 32);

    const { plaintext: out, messageHeader } = await decrypt(t, result);
    assert.ok(out.equals(plaintext), 'decrypted plaintext differs');
    assertContextIn(messageHeader.encryptionContext, context);
    // (The SDK's context objects have a null prototype: compare copies.)
    assert.deepEqual({ ...messageHeader.encryptionContext }, { ...encHeader.encryptionContext });
    assert.ok('aws-crypto-public-key' in messageHeader.encryptionContext);
    assert.equal(messageHeader.suiteId, encHeader.suiteId);

    // A fresh keyring (new client, nothing cached) decrypts it too.
    const t2 = keyring({ generatorKeyId: keyA.Arn });
    const again = await decrypt(t2, result);
    assert.ok(again.plaintext.equals(plaintext));
    assert.ok(allClients.length >= 2, 'the clientProvider was not used');
  });

  test('decrypting with a keyring whose client has wrong credentials fails', async () => {
    const good = keyring({ generatorKeyId: keyA.Arn });
    const { result } = await encrypt(good, randomBytes(4096), { encryptionContext: { a: 'b' } });

    for (const [overrides, expectedName] of [
      [{ secretAccessKey: 'not-the-secret/00000000000000000000000000' }, 'InvalidSignatureException'],
      [{ accessKeyId: 'AKIANOSUCHKEY0000000' }, 'UnrecognizedClientException'],
    ]) {
      const bad = keyring({ generatorKeyId: keyA.Arn, ...overrides });
      const err = await rejection(() => decrypt(bad, result));
      assert.match(err.message, /Unable to decrypt data key and one or more KMS CMKs had an error/,
        describeError(err));
      assert.ok(err.message.includes(expectedName),
        `expected the KMS error ${expectedName} in: ${err.message.slice(0, 2000)}`);
    }

    // ...and encrypting through such a keyring fails at GenerateDataKey.
    const bad = keyring({ generatorKeyId: keyA.Arn, secretAccessKey: 'wrong/0000000000000000' });
    const err = await rejection(() => encrypt(bad, Buffer.from('x')));
    assert.equal(err.name, 'InvalidSignatureException', describeError(err));
    assert.equal(err.$metadata?.httpStatusCode, 400, describeError(err));
  });

  test('multi-key keyring; each key alone and a discovery keyring decrypt', async () => {
    const t = keyring({ generatorKeyId: keyA.Arn, keyIds: [keyB.Arn] });
    const plaintext = randomBytes(100_000);
    const { result, messageHeader } = await encrypt(t, plaintext, {
      encryptionContext: { multi: 'yes' },
    });
    assert.deepEqual(messageHeader.encryptedDataKeys.map((e) => e.providerInfo), [keyA.Arn, keyB.Arn]);

    for (const opts of [{ generatorKeyId: keyA.Arn }, { keyIds: [keyB.Arn] }, { discovery: true }]) {
      const d = keyring(opts);
      const out = await decrypt(d, result);
      assert.ok(out.plaintext.equals(plaintext), JSON.stringify(opts));
      assert.equal(out.messageHeader.encryptionContext.multi, 'yes');
    }

    // A keyring for an unrelated key finds no data key it may decrypt.
    const other = keyring({ generatorKeyId: keyC.Arn });
    await assert.rejects(() => decrypt(other, result));
  });

  test('a tampered message is rejected', async () => {
    const t = keyring({ generatorKeyId: keyA.Arn });
    const { result } = await encrypt(t, randomBytes(10_000));
    const bad = Buffer.from(result);
    bad[bad.length - 200] ^= 0x40; // inside the body / signature
    await assert.rejects(() => decrypt(t, bad));
  });

  test('streaming encrypt / decrypt of 1 MiB in small chunks', async () => {
    const t = keyring({ generatorKeyId: keyB.Arn });
    const plaintext = randomBytes(MiB);
    const chunks = [];
    for (let i = 0; i < plaintext.length; i += 10_000) chunks.push(plaintext.subarray(i, i + 10_000));
    const ciphertext = await collect(Readable.from(chunks).pipe(encryptStream(t, {
      encryptionContext: { streamed: 'true' }, frameLength: 4096,
    })));

    let header;
    const dec = decryptStream(t).once('MessageHeader', (h) => { header = h; });
    const out = await collect(Readable.from([ciphertext]).pipe(dec));
    assert.ok(out.equals(plaintext));
    assert.equal(header.encryptionContext.streamed, 'true');
  });

  test('a non-signing committing suite round-trips', async () => {
    const t = keyring({ generatorKeyId: keyA.Arn });
    const plaintext = randomBytes(50_000);
    const { result, messageHeader } = await encrypt(t, plaintext, {
      suiteId: AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY,
      encryptionContext: { unsigned: '1' },
    });
    assert.equal(messageHeader.suiteId,
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY);
    assert.ok(!('aws-crypto-public-key' in messageHeader.encryptionContext));
    const out = await decrypt(t, result);
    assert.ok(out.plaintext.equals(plaintext));
    assert.deepEqual({ ...out.messageHeader.encryptionContext }, { unsigned: '1' });
  });
});
