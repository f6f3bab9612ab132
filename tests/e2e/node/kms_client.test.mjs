// @aws-sdk/client-kms (AWS SDK for JavaScript v3) against a running Scytale server.
//
// Covers CreateKey, DescribeKey, ListKeys (+ paginator), Encrypt, Decrypt, ReEncrypt,
// GenerateDataKey, GenerateDataKeyWithoutPlaintext and GenerateRandom through both the
// bare client (`KMSClient.send(new XCommand(...))`) and the aggregated `KMS` class, and
// that server errors arrive as the SDK's modeled exception classes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSServiceException,
  ListKeysCommand,
  NotFoundException,
  ReEncryptCommand,
  paginateListKeys,
} from '@aws-sdk/client-kms';

import {
  REGION, UUID_RE, clientConfig, describeError, keyArnRe, kmsClient, randomKeyId, rejection,
} from './common.mjs';

const client = new KMSClient(clientConfig());
const kms = kmsClient();

after(() => {
  client.destroy();
  kms.destroy();
});

// Asserts that `err` is an SDK exception of class `cls` (and so named), sent by the
// server with a 4xx status and a request id.
function assertKmsError(err, cls, status = 400) {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${describeError(err)}`);
  assert.ok(err instanceof KMSServiceException, describeError(err));
  assert.equal(err.name, cls.name);
  assert.equal(err.$fault, 'client', describeError(err));
  assert.equal(err.$metadata?.httpStatusCode, status, describeError(err));
  assert.ok(err.$metadata?.requestId, `no request id: ${describeError(err)}`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length > 0, `empty message: ${describeError(err)}`);
}

// An error the KMS model does not declare (auth/validation errors): a plain
// KMSServiceException whose name is the server's __type.
function assertUnmodeledError(err, name, status = 400) {
  assert.ok(err instanceof KMSServiceException, `expected KMSServiceException, got ${describeError(err)}`);
  assert.equal(err.name, name, describeError(err));
  assert.equal(err.$metadata?.httpStatusCode, status, describeError(err));
  assert.ok(err.$metadata?.requestId, `no request id: ${describeError(err)}`);
}

function assertSymmetricMetadata(md, { description = '' } = {}) {
  assert.match(md.KeyId, UUID_RE);
  assert.match(md.Arn, keyArnRe(REGION, md.KeyId));
  assert.match(md.AWSAccountId, /^\d{12}$/);
  assert.equal(md.Arn.split(':')[4], md.AWSAccountId);
  assert.equal(md.Description, description);
  assert.equal(md.Enabled, true);
  assert.equal(md.KeyState, 'Enabled');
  assert.equal(md.KeyUsage, 'ENCRYPT_DECRYPT');
  assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT');
  assert.equal(md.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
  assert.equal(md.Origin, 'AWS_KMS');
  assert.equal(md.KeyManager, 'CUSTOMER');
  assert.deepEqual(md.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
  assert.equal(md.MultiRegion, false);
  assert.ok(md.CreationDate instanceof Date, `CreationDate is ${md.CreationDate}`);
  assert.ok(Math.abs(Date.now() - md.CreationDate.getTime()) < 10 * 60 * 1000,
    `CreationDate ${md.CreationDate.toISOString()} is far from now`);
}

describe('keys', () => {
  test('CreateKey with defaults returns symmetric key metadata', async () => {
    const out = await client.send(new CreateKeyCommand({}));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.ok(out.$metadata.requestId);
    assertSymmetricMetadata(out.KeyMetadata);
  });

  test('CreateKey with description and explicit SYMMETRIC_DEFAULT spec', async () => {
    const out = await kms.createKey({
      Description: 'node e2e ✓ key',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
    });
    assertSymmetricMetadata(out.KeyMetadata, { description: 'node e2e ✓ key' });
  });

  test('DescribeKey by key id and by ARN returns the CreateKey metadata', async () => {
    const created = (await kms.createKey({ Description: 'describe me' })).KeyMetadata;
    const byId = (await client.send(new DescribeKeyCommand({ KeyId: created.KeyId }))).KeyMetadata;
    const byArn = (await kms.describeKey({ KeyId: created.Arn })).KeyMetadata;
    assertSymmetricMetadata(byId, { description: 'describe me' });
    assert.deepEqual(byId, created);
    assert.deepEqual(byArn, created);
  });

  test('DescribeKey of an unknown key id is NotFoundException', async () => {
    const err = await rejection(() => client.send(new DescribeKeyCommand({ KeyId: randomKeyId() })));
    assertKmsError(err, NotFoundException);
  });

  test('DescribeKey of an unknown key ARN is NotFoundException', async () => {
    const someArn = (await kms.createKey({})).KeyMetadata.Arn;
    const unknownArn = someArn.replace(/key\/.*$/, `key/${randomKeyId()}`);
    const err = await rejection(() => kms.describeKey({ KeyId: unknownArn }));
    assertKmsError(err, NotFoundException);
  });

  test('ListKeys lists created keys; paginateListKeys walks all pages', async () => {
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await kms.createKey({})).KeyMetadata);

    const first = await client.send(new ListKeysCommand({ Limit: 1 }));
    assert.equal(first.Keys.length, 1);
    assert.equal(first.Truncated, true);
    assert.equal(typeof first.NextMarker, 'string');

    const seen = [];
    let pages = 0;
    for await (const page of paginateListKeys({ client, pageSize: 2 }, {})) {
      pages++;
      assert.ok(page.Keys.length <= 2);
      for (const k of page.Keys) {
        assert.match(k.KeyId, UUID_RE);
        assert.match(k.KeyArn, keyArnRe(REGION, k.KeyId));
        seen.push(k.KeyId);
      }
      assert.ok(pages < 10000, 'paginator does not end');
    }
    assert.ok(pages >= 2, `expected several pages, got ${pages}`);
    assert.equal(new Set(seen).size, seen.length, 'a key was listed twice');
    for (const k of created) assert.ok(seen.includes(k.KeyId), `${k.KeyId} not listed`);

    // (Other test files create keys concurrently, so only inclusion is checked.)
    const all = await kms.listKeys({ Limit: 1000 });
    assert.equal(all.Truncated, false);
    const allIds = all.Keys.map((k) => k.KeyId);
    for (const k of created) assert.ok(allIds.includes(k.KeyId), `${k.KeyId} not in Limit=1000 page`);
  });
});

describe('cryptographic operations', () => {
  let keyA;
  let keyB;

  before(async () => {
    keyA = (await kms.createKey({ Description: 'node e2e key A' })).KeyMetadata;
    keyB = (await kms.createKey({ Description: 'node e2e key B' })).KeyMetadata;
  });

  test('Encrypt / Decrypt round trip with an encryption context', async () => {
    const plaintext = randomBytes(4096); // the largest plaintext Encrypt takes
    const ctx = { purpose: 'node-e2e', tenant: 'ünïcødé ✓' };
    const enc = await client.send(new EncryptCommand({
      KeyId: keyA.KeyId, Plaintext: plaintext, EncryptionContext: ctx,
    }));
    assert.equal(enc.KeyId, keyA.Arn);
    assert.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.ok(enc.CiphertextBlob instanceof Uint8Array);
    assert.ok(enc.CiphertextBlob.length > plaintext.length);
    assert.ok(!Buffer.from(enc.CiphertextBlob).includes(plaintext.subarray(0, 32)));

    // Decrypt without KeyId: the key is found from the ciphertext.
    const dec = await client.send(new DecryptCommand({
      CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ...ctx },
    }));
    assert.equal(dec.KeyId, keyA.Arn);
    assert.equal(dec.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.ok(Buffer.from(dec.Plaintext).equals(plaintext));

    // Decrypt naming the key by ARN and the algorithm explicitly.
    const dec2 = await kms.decrypt({
      CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx, KeyId: keyA.Arn,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
    assert.ok(Buffer.from(dec2.Plaintext).equals(plaintext));
  });

  test('Encrypt by key ARN without context; two encryptions differ', async () => {
    const plaintext = Buffer.from('attack at dawn');
    const c1 = (await kms.encrypt({ KeyId: keyA.Arn, Plaintext: plaintext })).CiphertextBlob;
    const c2 = (await kms.encrypt({ KeyId: keyA.Arn, Plaintext: plaintext })).CiphertextBlob;
    assert.ok(!Buffer.from(c1).equals(Buffer.from(c2)), 'ciphertexts are deterministic');
    for (const c of [c1, c2]) {
      const dec = await kms.decrypt({ CiphertextBlob: c });
      assert.equal(Buffer.from(dec.Plaintext).toString(), 'attack at dawn');
      assert.equal(dec.KeyId, keyA.Arn);
    }
  });

  test('Decrypt with a wrong encryption context is InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await kms.encrypt({
      KeyId: keyA.KeyId, Plaintext: Buffer.from('secret'), EncryptionContext: { a: '1' },
    });
    for (const EncryptionContext of [{ a: '2' }, { a: '1', b: '2' }, { A: '1' }, {}, undefined]) {
      const err = await rejection(() => kms.decrypt({ CiphertextBlob, EncryptionContext }));
      assertKmsError(err, InvalidCiphertextException);
    }
    // ...while the right context still works.
    const ok = await kms.decrypt({ CiphertextBlob, EncryptionContext: { a: '1' } });
    assert.equal(Buffer.from(ok.Plaintext).toString(), 'secret');
  });

  test('Decrypt with a context when none was used is InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyA.KeyId, Plaintext: Buffer.from('x') });
    const err = await rejection(() => kms.decrypt({ CiphertextBlob, EncryptionContext: { a: '1' } }));
    assertKmsError(err, InvalidCiphertextException);
  });

  test('Decrypt of a tampered or garbage ciphertext is InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyA.KeyId, Plaintext: Buffer.from('x') });
    const tampered = Buffer.from(CiphertextBlob);
    tampered[tampered.length - 1] ^= 0x01;
    for (const blob of [tampered, randomBytes(200), Buffer.from(CiphertextBlob).subarray(0, 40)]) {
      const err = await rejection(() => kms.decrypt({ CiphertextBlob: blob }));
      assertKmsError(err, InvalidCiphertextException);
    }
  });

  test('Decrypt naming another key is IncorrectKeyException', async () => {
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyA.KeyId, Plaintext: Buffer.from('x') });
    const err = await rejection(() => kms.decrypt({ CiphertextBlob, KeyId: keyB.KeyId }));
    assertKmsError(err, IncorrectKeyException);
  });

  test('Encrypt with an unknown key is NotFoundException', async () => {
    const err = await rejection(() => client.send(new EncryptCommand({
      KeyId: randomKeyId(), Plaintext: Buffer.from('x'),
    })));
    assertKmsError(err, NotFoundException);
  });

  test('Encrypt of more than 4096 bytes is a ValidationException', async () => {
    const err = await rejection(() => kms.encrypt({ KeyId: keyA.KeyId, Plaintext: randomBytes(4097) }));
    assertUnmodeledError(err, 'ValidationException');
  });

  test('GenerateDataKey AES_256 / AES_128 / NumberOfBytes', async () => {
    const ctx = { bucket: 'b1', object: 'o/1' };
    for (const [params, size] of [[{ KeySpec: 'AES_256' }, 32], [{ KeySpec: 'AES_128' }, 16],
      [{ NumberOfBytes: 64 }, 64], [{ NumberOfBytes: 1 }, 1], [{ NumberOfBytes: 1024 }, 1024]]) {
      const out = await client.send(new GenerateDataKeyCommand({
        KeyId: keyA.KeyId, EncryptionContext: ctx, ...params,
      }));
      assert.equal(out.KeyId, keyA.Arn);
      assert.ok(out.Plaintext instanceof Uint8Array);
      assert.equal(out.Plaintext.length, size, JSON.stringify(params));
      assert.ok(out.CiphertextBlob instanceof Uint8Array);
      const dec = await kms.decrypt({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: ctx });
      assert.ok(Buffer.from(dec.Plaintext).equals(Buffer.from(out.Plaintext)));
      assert.equal(dec.KeyId, keyA.Arn);
      const err = await rejection(() => kms.decrypt({ CiphertextBlob: out.CiphertextBlob }));
      assertKmsError(err, InvalidCiphertextException);
    }
    const k1 = (await kms.generateDataKey({ KeyId: keyA.KeyId, KeySpec: 'AES_256' })).Plaintext;
    const k2 = (await kms.generateDataKey({ KeyId: keyA.KeyId, KeySpec: 'AES_256' })).Plaintext;
    assert.ok(!Buffer.from(k1).equals(Buffer.from(k2)), 'two data keys are equal');
  });

  test('GenerateDataKey with an unknown key is NotFoundException', async () => {
    const err = await rejection(() => kms.generateDataKey({ KeyId: randomKeyId(), KeySpec: 'AES_256' }));
    assertKmsError(err, NotFoundException);
  });

  test('GenerateDataKeyWithoutPlaintext returns only a ciphertext that decrypts', async () => {
    const ctx = { k: 'v' };
    const out = await client.send(new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: keyB.Arn, KeySpec: 'AES_256', EncryptionContext: ctx,
    }));
    assert.equal(out.Plaintext, undefined);
    assert.equal(out.KeyId, keyB.Arn);
    assert.ok(out.CiphertextBlob instanceof Uint8Array);
    const dec = await kms.decrypt({ CiphertextBlob: out.CiphertextBlob, EncryptionContext: ctx });
    assert.equal(dec.Plaintext.length, 32);
    assert.equal(dec.KeyId, keyB.Arn);

    const out16 = await kms.generateDataKeyWithoutPlaintext({ KeyId: keyB.KeyId, NumberOfBytes: 16 });
    assert.equal((await kms.decrypt({ CiphertextBlob: out16.CiphertextBlob })).Plaintext.length, 16);
  });

  test('ReEncrypt moves a ciphertext to another key and context', async () => {
    const plaintext = randomBytes(100);
    const { CiphertextBlob } = await kms.encrypt({
      KeyId: keyA.KeyId, Plaintext: plaintext, EncryptionContext: { stage: 'one' },
    });
    const re = await client.send(new ReEncryptCommand({
      CiphertextBlob,
      SourceEncryptionContext: { stage: 'one' },
      DestinationKeyId: keyB.KeyId,
      DestinationEncryptionContext: { stage: 'two' },
    }));
    assert.equal(re.SourceKeyId, keyA.Arn);
    assert.equal(re.KeyId, keyB.Arn);
    assert.equal(re.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.equal(re.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');

    const dec = await kms.decrypt({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { stage: 'two' } });
    assert.equal(dec.KeyId, keyB.Arn);
    assert.ok(Buffer.from(dec.Plaintext).equals(plaintext));
    assertKmsError(await rejection(() => kms.decrypt({
      CiphertextBlob: re.CiphertextBlob, EncryptionContext: { stage: 'one' },
    })), InvalidCiphertextException);
    assertKmsError(await rejection(() => kms.decrypt({
      CiphertextBlob: re.CiphertextBlob, EncryptionContext: { stage: 'two' }, KeyId: keyA.KeyId,
    })), IncorrectKeyException);
  });

  test('ReEncrypt with a wrong source context is InvalidCiphertextException', async () => {
    const { CiphertextBlob } = await kms.encrypt({
      KeyId: keyA.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: { stage: 'one' },
    });
    const err = await rejection(() => kms.reEncrypt({
      CiphertextBlob, SourceEncryptionContext: { stage: 'uno' }, DestinationKeyId: keyB.KeyId,
    }));
    assertKmsError(err, InvalidCiphertextException);
  });

  test('ReEncrypt to an unknown destination key is NotFoundException', async () => {
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyA.KeyId, Plaintext: Buffer.from('x') });
    const err = await rejection(() => kms.reEncrypt({ CiphertextBlob, DestinationKeyId: randomKeyId() }));
    assertKmsError(err, NotFoundException);
  });

  test('ReEncrypt naming the wrong source key is IncorrectKeyException', async () => {
    const { CiphertextBlob } = await kms.encrypt({ KeyId: keyA.KeyId, Plaintext: Buffer.from('x') });
    const err = await rejection(() => kms.reEncrypt({
      CiphertextBlob, SourceKeyId: keyB.KeyId, DestinationKeyId: keyB.KeyId,
    }));
    assertKmsError(err, IncorrectKeyException);
  });

  test('GenerateRandom returns fresh random bytes', async () => {
    const r1 = await client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    const r2 = await kms.generateRandom({ NumberOfBytes: 32 });
    assert.ok(r1.Plaintext instanceof Uint8Array);
    assert.equal(r1.Plaintext.length, 32);
    assert.equal(r2.Plaintext.length, 32);
    assert.ok(!Buffer.from(r1.Plaintext).equals(Buffer.from(r2.Plaintext)));
    assert.equal((await kms.generateRandom({ NumberOfBytes: 1024 })).Plaintext.length, 1024);
  });

  test('many concurrent requests over the shared client all succeed', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i}`));
    const blobs = await Promise.all(inputs.map((p, i) => kms.encrypt({
      KeyId: i % 2 ? keyA.KeyId : keyB.KeyId, Plaintext: p, EncryptionContext: { i: String(i) },
    })));
    const plains = await Promise.all(blobs.map((b, i) => kms.decrypt({
      CiphertextBlob: b.CiphertextBlob, EncryptionContext: { i: String(i) },
    })));
    plains.forEach((d, i) => assert.equal(Buffer.from(d.Plaintext).toString(), `message ${i}`));
  });
});

describe('authentication', () => {
  test('an unknown access key id is UnrecognizedClientException', async () => {
    const bad = kmsClient({ accessKeyId: 'AKIANOSUCHKEY0000000' });
    try {
      assertUnmodeledError(await rejection(() => bad.listKeys({})), 'UnrecognizedClientException');
    } finally {
      bad.destroy();
    }
  });

  test('a wrong secret is InvalidSignatureException', async () => {
    const bad = kmsClient({ secretAccessKey: 'wrong-secret-key/0000000000000000000000' });
    try {
      assertUnmodeledError(await rejection(() => bad.createKey({})), 'InvalidSignatureException');
    } finally {
      bad.destroy();
    }
  });
});
