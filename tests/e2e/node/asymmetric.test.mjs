// Asymmetric and HMAC keys through @aws-sdk/client-kms, checked with node:crypto as the
// independent implementation: Sign/Verify (ECC_NIST_P256 ECDSA, RSA_2048 PSS and PKCS#1
// v1.5), GetPublicKey, GenerateMac/VerifyMac, GenerateDataKeyPair(WithoutPlaintext),
// RSA-OAEP ciphertexts made locally, DeriveSharedSecret, and the errors as the SDK's classes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync,
  publicEncrypt, randomBytes, sign as nodeSign, verify as nodeVerify,
} from 'node:crypto';

import {
  DeriveSharedSecretCommand,
  GenerateDataKeyPairCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  InvalidKeyUsageException,
  KMSClient,
  KMSInvalidMacException,
  KMSInvalidSignatureException,
  KMSServiceException,
  SignCommand,
  UnsupportedOperationException,
  VerifyCommand,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';

import { REGION, clientConfig, describeError, keyArnRe, kmsClient, rejection } from './common.mjs';

const client = new KMSClient(clientConfig());
const kms = kmsClient();

after(() => {
  client.destroy();
  kms.destroy();
});

function assertKmsError(err, cls) {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${describeError(err)}`);
  assert.ok(err instanceof KMSServiceException, describeError(err));
  assert.equal(err.name, cls.name);
  assert.equal(err.$metadata?.httpStatusCode, 400, describeError(err));
  assert.ok(err.$metadata?.requestId, `no request id: ${describeError(err)}`);
}

function assertUnmodeledError(err, name) {
  assert.ok(err instanceof KMSServiceException, `expected KMSServiceException, got ${describeError(err)}`);
  assert.equal(err.name, name, describeError(err));
  assert.equal(err.$metadata?.httpStatusCode, 400, describeError(err));
}

const spki = (der) => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
const flip = (bytes, i) => {
  const b = Buffer.from(bytes);
  b[i] ^= 0x01;
  return b;
};

// node:crypto verification options for each AWS signing algorithm used here.
function nodeOptions(algorithm, key) {
  if (algorithm.startsWith('RSASSA_PSS_')) {
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(algorithm.slice(-3)) / 8 };
  }
  if (algorithm.startsWith('RSASSA_PKCS1_')) return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, dsaEncoding: 'der' };
}
const hashOf = (algorithm) => `sha${algorithm.slice(-3)}`;

describe('signing keys', () => {
  const keys = {};
  const publicKeys = {};
  const cases = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
  ];

  before(async () => {
    for (const spec of ['ECC_NIST_P256', 'RSA_2048']) {
      keys[spec] = (await kms.createKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata;
      publicKeys[spec] = await client.send(new GetPublicKeyCommand({ KeyId: keys[spec].KeyId }));
    }
  });

  test('CreateKey and GetPublicKey describe the signing keys', () => {
    for (const spec of ['ECC_NIST_P256', 'RSA_2048']) {
      const md = keys[spec];
      assert.equal(md.KeySpec, spec);
      assert.equal(md.KeyUsage, 'SIGN_VERIFY');
      assert.equal(md.EncryptionAlgorithms, undefined);
      const pub = publicKeys[spec];
      assert.match(pub.KeyId, keyArnRe(REGION, md.KeyId));
      assert.equal(pub.KeySpec, spec);
      assert.equal(pub.KeyUsage, 'SIGN_VERIFY');
      assert.deepEqual(pub.SigningAlgorithms, md.SigningAlgorithms);
      assert.ok(pub.PublicKey instanceof Uint8Array);
      const key = spki(pub.PublicKey);
      if (spec === 'RSA_2048') {
        assert.equal(key.asymmetricKeyType, 'rsa');
        assert.equal(key.asymmetricKeyDetails.modulusLength, 2048);
      } else {
        assert.equal(key.asymmetricKeyType, 'ec');
        assert.equal(key.asymmetricKeyDetails.namedCurve, 'prime256v1');
      }
      // The SPKI re-encodes to the same DER.
      assert.ok(key.export({ format: 'der', type: 'spki' }).equals(Buffer.from(pub.PublicKey)));
    }
    assert.deepEqual(keys.ECC_NIST_P256.SigningAlgorithms, ['ECDSA_SHA_256']);
    assert.equal(keys.RSA_2048.SigningAlgorithms.length, 6);
  });

  for (const [spec, algorithm] of cases) {
    test(`Sign/Verify ${spec} ${algorithm}, RAW and DIGEST, checked with node:crypto`, async () => {
      const key = keys[spec];
      const pub = spki(publicKeys[spec].PublicKey);
      const message = randomBytes(777);
      const raw = await client.send(new SignCommand({
        KeyId: key.KeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: algorithm,
      }));
      assert.equal(raw.KeyId, key.Arn);
      assert.equal(raw.SigningAlgorithm, algorithm);
      assert.ok(nodeVerify(hashOf(algorithm), message, nodeOptions(algorithm, pub), raw.Signature),
        'node:crypto rejects the RAW signature');
      assert.ok(!nodeVerify(hashOf(algorithm), flip(message, 3), nodeOptions(algorithm, pub),
        raw.Signature));

      const digest = createHash(hashOf(algorithm)).update(message).digest();
      const dig = await kms.sign({
        KeyId: key.Arn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm,
      });
      // A DIGEST signature is a signature of the message: no re-hashing.
      assert.ok(nodeVerify(hashOf(algorithm), message, nodeOptions(algorithm, pub), dig.Signature),
        'node:crypto rejects the DIGEST signature');

      const ok = await client.send(new VerifyCommand({
        KeyId: key.KeyId, Message: message, Signature: dig.Signature, SigningAlgorithm: algorithm,
      }));
      assert.equal(ok.SignatureValid, true);
      assert.equal(ok.KeyId, key.Arn);
      const ok2 = await kms.verify({
        KeyId: key.KeyId, Message: digest, MessageType: 'DIGEST', Signature: raw.Signature,
        SigningAlgorithm: algorithm,
      });
      assert.equal(ok2.SignatureValid, true);

      for (const i of [0, Math.floor(raw.Signature.length / 2), raw.Signature.length - 1]) {
        const err = await rejection(() => client.send(new VerifyCommand({
          KeyId: key.KeyId, Message: message, Signature: flip(raw.Signature, i),
          SigningAlgorithm: algorithm,
        })));
        assertKmsError(err, KMSInvalidSignatureException);
      }
    });
  }

  test('a signature made locally with a data key pair does not verify under a KMS key', async () => {
    const wrapping = (await kms.createKey({})).KeyMetadata;
    const pair = await client.send(new GenerateDataKeyPairCommand({
      KeyId: wrapping.KeyId, KeyPairSpec: 'ECC_NIST_P256',
    }));
    const privateKey = createPrivateKey({
      key: Buffer.from(pair.PrivateKeyPlaintext), format: 'der', type: 'pkcs8',
    });
    const message = Buffer.from('signed by node:crypto');
    const signature = nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
    assert.ok(nodeVerify('sha256', message, { key: spki(pair.PublicKey), dsaEncoding: 'der' },
      signature));
    const err = await rejection(() => kms.verify({
      KeyId: keys.ECC_NIST_P256.KeyId, Message: message, Signature: signature,
      SigningAlgorithm: 'ECDSA_SHA_256',
    }));
    assertKmsError(err, KMSInvalidSignatureException);
  });

  test('wrong key usage, wrong algorithm and wrong digest length', async () => {
    const rsaEnc = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata;
    assertKmsError(await rejection(() => kms.sign({
      KeyId: rsaEnc.KeyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256',
    })), InvalidKeyUsageException);
    assertKmsError(await rejection(() => kms.sign({
      KeyId: keys.ECC_NIST_P256.KeyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_384',
    })), InvalidKeyUsageException);
    assertKmsError(await rejection(() => kms.encrypt({
      KeyId: keys.RSA_2048.KeyId, Plaintext: Buffer.from('m'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
    })), InvalidKeyUsageException);
    assertUnmodeledError(await rejection(() => kms.sign({
      KeyId: keys.ECC_NIST_P256.KeyId, Message: randomBytes(31), MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    })), 'ValidationException');
    const symmetric = (await kms.createKey({})).KeyMetadata;
    assertKmsError(await rejection(() => kms.getPublicKey({ KeyId: symmetric.KeyId })),
      UnsupportedOperationException);
    assertUnmodeledError(await rejection(() => kms.createKey({ KeySpec: 'ECC_NIST_P256' })),
      'ValidationException');
  });
});

describe('HMAC keys', () => {
  test('GenerateMac / VerifyMac, and a changed byte is KMSInvalidMacException', async () => {
    const key = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata;
    assert.deepEqual(key.MacAlgorithms, ['HMAC_SHA_256']);
    assert.equal(key.KeyUsage, 'GENERATE_VERIFY_MAC');
    const message = randomBytes(100);
    const out = await client.send(new GenerateMacCommand({
      KeyId: key.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_256',
    }));
    assert.equal(out.KeyId, key.Arn);
    assert.equal(out.MacAlgorithm, 'HMAC_SHA_256');
    assert.equal(out.Mac.length, 32);
    const ok = await client.send(new VerifyMacCommand({
      KeyId: key.Arn, Message: message, Mac: out.Mac, MacAlgorithm: 'HMAC_SHA_256',
    }));
    assert.equal(ok.MacValid, true);
    for (const i of [0, 15, 31]) {
      assertKmsError(await rejection(() => kms.verifyMac({
        KeyId: key.KeyId, Message: message, Mac: flip(out.Mac, i), MacAlgorithm: 'HMAC_SHA_256',
      })), KMSInvalidMacException);
    }
    assertKmsError(await rejection(() => kms.verifyMac({
      KeyId: key.KeyId, Message: flip(message, 0), Mac: out.Mac, MacAlgorithm: 'HMAC_SHA_256',
    })), KMSInvalidMacException);
    assertKmsError(await rejection(() => kms.generateMac({
      KeyId: key.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_512',
    })), InvalidKeyUsageException);
    assertKmsError(await rejection(() => kms.getPublicKey({ KeyId: key.KeyId })),
      UnsupportedOperationException);
  });
});

describe('data key pairs, RSA-OAEP and ECDH', () => {
  test('GenerateDataKeyPair: PKCS#8 private key matching the public key; blob decrypts', async () => {
    const wrapping = (await kms.createKey({})).KeyMetadata;
    const ctx = { purpose: 'node-key-pair' };
    for (const spec of ['RSA_2048', 'ECC_NIST_P384']) {
      const pair = await kms.generateDataKeyPair({
        KeyId: wrapping.KeyId, KeyPairSpec: spec, EncryptionContext: ctx,
      });
      assert.equal(pair.KeyId, wrapping.Arn);
      assert.equal(pair.KeyPairSpec, spec);
      const privateKey = createPrivateKey({
        key: Buffer.from(pair.PrivateKeyPlaintext), format: 'der', type: 'pkcs8',
      });
      const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
      assert.ok(derived.equals(Buffer.from(pair.PublicKey)), `${spec}: public key does not match`);
      const dec = await kms.decrypt({ CiphertextBlob: pair.PrivateKeyCiphertextBlob, EncryptionContext: ctx });
      assert.ok(Buffer.from(dec.Plaintext).equals(Buffer.from(pair.PrivateKeyPlaintext)));
    }
    const without = await kms.generateDataKeyPairWithoutPlaintext({
      KeyId: wrapping.Arn, KeyPairSpec: 'ECC_NIST_P256',
    });
    assert.equal(without.PrivateKeyPlaintext, undefined);
    const dec = await kms.decrypt({ CiphertextBlob: without.PrivateKeyCiphertextBlob });
    const derived = createPublicKey(createPrivateKey({
      key: Buffer.from(dec.Plaintext), format: 'der', type: 'pkcs8',
    })).export({ format: 'der', type: 'spki' });
    assert.ok(derived.equals(Buffer.from(without.PublicKey)));
  });

  test('RSA-OAEP ciphertexts made by node:crypto decrypt in Scytale', async () => {
    const key = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata;
    assert.deepEqual(key.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
    const pub = spki((await kms.getPublicKey({ KeyId: key.KeyId })).PublicKey);
    for (const [algorithm, hash, limit] of [['RSAES_OAEP_SHA_1', 'sha1', 214],
      ['RSAES_OAEP_SHA_256', 'sha256', 190]]) {
      const plaintext = randomBytes(limit);
      const ciphertext = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
        plaintext);
      const dec = await kms.decrypt({ KeyId: key.KeyId, CiphertextBlob: ciphertext, EncryptionAlgorithm: algorithm });
      assert.equal(dec.EncryptionAlgorithm, algorithm);
      assert.ok(Buffer.from(dec.Plaintext).equals(plaintext), algorithm);
      assertUnmodeledError(await rejection(() => kms.encrypt({
        KeyId: key.KeyId, Plaintext: randomBytes(limit + 1), EncryptionAlgorithm: algorithm,
      })), 'ValidationException');
    }
  });

  test('DeriveSharedSecret equals node:crypto ECDH', async () => {
    const key = (await kms.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })).KeyMetadata;
    assert.deepEqual(key.KeyAgreementAlgorithms, ['ECDH']);
    const kmsPublic = spki((await kms.getPublicKey({ KeyId: key.KeyId })).PublicKey);
    const mine = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const local = diffieHellman({ privateKey: mine.privateKey, publicKey: kmsPublic });
    const out = await client.send(new DeriveSharedSecretCommand({
      KeyId: key.KeyId, KeyAgreementAlgorithm: 'ECDH',
      PublicKey: mine.publicKey.export({ format: 'der', type: 'spki' }),
    }));
    assert.equal(out.KeyId, key.Arn);
    assert.ok(Buffer.from(out.SharedSecret).equals(local), 'shared secrets differ');
  });
});
