"""Asymmetric and HMAC keys end to end, checked against independent implementations.

Scytale's signatures, public keys, RSA-OAEP and ECDH are checked with the `openssl` command
line and with Python's `cryptography` package (tests/e2e/tools/verify_with_cryptography.py,
run with Debian's /usr/bin/python3; SM2DSA, which `cryptography` lacks, is verified there by a
small pure-Python implementation of GB/T 32918.2). Both come from scripts/install-deps.sh
(openssl, python3-cryptography); without them these tests fail and say so.

Covered, with boto3 unless said otherwise:
  - every signing spec x algorithm, RAW and DIGEST: Scytale's signature verifies with openssl
    and `cryptography` under the key from GetPublicKey (and a changed one does not); a DIGEST
    signature verifies as a signature of the message (no re-hashing);
  - GenerateDataKeyPair(WithoutPlaintext) for every KeyPairSpec: the blob decrypts to the
    PKCS#8 private key, whose public half is the PublicKey returned; a signature made locally
    with it does not verify under a KMS key, nor does a Scytale signature with a changed byte;
  - RSA-OAEP ciphertexts made locally from GetPublicKey's key decrypt in Scytale, at the
    plaintext size limit; Scytale's Encrypt takes the limit and refuses one byte more;
  - ECDH: DeriveSharedSecret equals the secret derived locally (P-256, P-384, P-521);
  - GenerateMac/VerifyMac across restarts (SIGTERM and SIGKILL), every changed byte refused;
  - the error for each wrong combination of key, operation, algorithm and message, and the
    model's limits; key-material ids only where AWS gives them (symmetric keys);
  - no cleartext private key or shared secret in the data directory or the logs;
  - the new condition keys (kms:SigningAlgorithm, kms:MessageType, kms:MacAlgorithm,
    kms:KeyAgreementAlgorithm, kms:EncryptionAlgorithm, kms:DataKeyPairSpec) in key policies;
  - the AWS CLI v1 and v2 (create-key, sign, verify, get-public-key, generate-mac,
    verify-mac, generate-data-key-pair(-without-plaintext); derive-shared-secret with v1 only,
    since CLI v2 2.9 predates it).
The JS SDK's side is tests/e2e/node/asymmetric.test.mjs (run by test_node_sdk.py).

Deviations from AWS that are tested as Scytale documents them: ED25519_PH_SHA_512 answers
UnsupportedOperationException (OpenSSL 3.0 lacks Ed25519ph); ML_DSA_* and SM2 with a usage
other than SIGN_VERIFY answer UnsupportedOperationException.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import uuid
from pathlib import Path
from typing import Any, Iterable, Optional

import harness
from harness import DEFAULT_ACCOUNT, DEFAULT_REGION, AwsCliMixin, ScytaleTestCase

TOOLS = Path(__file__).resolve().parent / "tools"
VERIFIER = TOOLS / "verify_with_cryptography.py"
SYSTEM_PYTHON = "/usr/bin/python3"
SM2_ID = "1234567812345678"

RSA_SIGNING = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
               "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384",
               "RSASSA_PSS_SHA_512"]
OAEP = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]

# Every signing key spec and the algorithms Scytale offers for it (AWS's order).
SIGNING_SPECS = {
    "RSA_2048": RSA_SIGNING,
    "RSA_3072": RSA_SIGNING,
    "RSA_4096": RSA_SIGNING,
    "ECC_NIST_P256": ["ECDSA_SHA_256"],
    "ECC_NIST_P384": ["ECDSA_SHA_384"],
    "ECC_NIST_P521": ["ECDSA_SHA_512"],
    "ECC_SECG_P256K1": ["ECDSA_SHA_256"],
    "ECC_NIST_EDWARDS25519": ["ED25519_SHA_512"],
    "SM2": ["SM2DSA"],
}

# What `openssl pkey -pubin -text` prints for each spec's public key.
OPENSSL_KEY_TEXT = {
    "RSA_2048": "Public-Key: (2048 bit)",
    "RSA_3072": "Public-Key: (3072 bit)",
    "RSA_4096": "Public-Key: (4096 bit)",
    "ECC_NIST_P256": "ASN1 OID: prime256v1",
    "ECC_NIST_P384": "ASN1 OID: secp384r1",
    "ECC_NIST_P521": "ASN1 OID: secp521r1",
    "ECC_SECG_P256K1": "ASN1 OID: secp256k1",
    "ECC_NIST_EDWARDS25519": "ED25519 Public-Key:",
    "SM2": "ASN1 OID: SM2",
}

# RSA-OAEP plaintext limits: k - 2*hLen - 2 (AWS documents the same figures).
OAEP_LIMITS = {
    ("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
    ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
    ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
}
ECDH_SECRET_BYTES = {"ECC_NIST_P256": 32, "ECC_NIST_P384": 48, "ECC_NIST_P521": 66}
OPENSSL_CURVE = {"ECC_NIST_P256": "P-256", "ECC_NIST_P384": "P-384", "ECC_NIST_P521": "P-521",
                 "ECC_SECG_P256K1": "secp256k1"}
EC_FIELD_BYTES = {"ECC_NIST_P256": 32, "ECC_NIST_P384": 48, "ECC_NIST_P521": 66,
                  "ECC_SECG_P256K1": 32, "SM2": 32}
MAC_BYTES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}

BAD_SIGNATURE = "KMSInvalidSignatureException"
BAD_MAC = "KMSInvalidMacException"
USAGE = "InvalidKeyUsageException"
VALIDATION = "ValidationException"
UNSUPPORTED = "UnsupportedOperationException"
BAD_BLOB = "InvalidCiphertextException"


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:key/{key_id}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    b = bytearray(data)
    b[index] ^= mask
    return bytes(b)


def md_name(algorithm: str) -> str:
    """openssl's name of the hash an AWS algorithm uses."""
    if algorithm == "SM2DSA":
        return "sm3"
    if algorithm.endswith("SHA_1"):
        return "sha1"
    return "sha" + algorithm[-3:]


def local_digest(algorithm: str, message: bytes) -> bytes:
    return hashlib.new(md_name(algorithm), message).digest()


def der_ecdsa_to_p1363(signature: bytes, size: int) -> bytes:
    """SEQUENCE { INTEGER r, INTEGER s } -> r || s, each `size` bytes."""
    def length(at: int) -> tuple[int, int]:
        first = signature[at]
        if first < 0x80:
            return first, at + 1
        n = first & 0x7F
        return int.from_bytes(signature[at + 1:at + 1 + n], "big"), at + 1 + n

    assert signature[0] == 0x30, signature.hex()
    _, at = length(1)
    out = b""
    for _ in range(2):
        assert signature[at] == 0x02, signature.hex()
        n, at = length(at + 1)
        out += int.from_bytes(signature[at:at + n], "big").to_bytes(size, "big")
        at += n
    assert at == len(signature), "trailing bytes after the DER signature"
    return out


def require_independent_tools() -> None:
    problems = []
    if shutil.which("openssl") is None:
        problems.append("`openssl` is not on PATH")
    if not os.path.exists(SYSTEM_PYTHON):
        problems.append(f"{SYSTEM_PYTHON} is missing")
    else:
        p = subprocess.run([SYSTEM_PYTHON, "-c", "import cryptography"], capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            problems.append(f"{SYSTEM_PYTHON} cannot import cryptography: {p.stderr.strip()}")
    if problems:
        raise AssertionError("independent verifiers missing (scripts/install-deps.sh installs "
                             "openssl and python3-cryptography): " + "; ".join(problems))


def independent(requests: list[dict]) -> list[dict]:
    """Runs a batch of requests through tools/verify_with_cryptography.py."""
    if not requests:
        return []
    p = subprocess.run([SYSTEM_PYTHON, str(VERIFIER)], input=json.dumps(requests),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"{VERIFIER} exited {p.returncode}: {p.stderr[-3000:]}")
    out = json.loads(p.stdout)
    assert len(out) == len(requests), (len(out), len(requests))
    return out


def parallel(fn, items: Iterable[Any], workers: int = 4) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


class OpenSSL:
    """The openssl command line over files in one temporary directory."""

    def __init__(self, directory: str):
        self.dir = directory

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, data: bytes, suffix: str = ".bin") -> str:
        path = self.path(uuid.uuid4().hex + suffix)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(["openssl", *args], capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)} exited {p.returncode}: "
                                 f"{p.stdout[-1000:]!r} {p.stderr[-2000:]!r}")
        return p

    def public_pem(self, der: bytes) -> str:
        """DER SubjectPublicKeyInfo -> PEM file (openssl pkey -pubin -inform DER)."""
        src = self.write(der, ".der")
        pem = src[:-4] + ".pem"
        self.run("pkey", "-pubin", "-inform", "DER", "-in", src, "-out", pem)
        return pem

    def public_text(self, der: bytes) -> str:
        src = self.write(der, ".der")
        return self.run("pkey", "-pubin", "-inform", "DER", "-in", src, "-text",
                        "-noout").stdout.decode()

    def private_der_to_public_der(self, pkcs8: bytes) -> bytes:
        src = self.write(pkcs8, ".der")
        # `openssl pkcs8 -nocrypt` reads only an unencrypted PKCS#8 PrivateKeyInfo.
        pem = src[:-4] + ".pem"
        self.run("pkcs8", "-nocrypt", "-inform", "DER", "-in", src, "-out", pem)
        out = src[:-4] + ".pub.der"
        self.run("pkey", "-in", pem, "-pubout", "-outform", "DER", "-out", out)
        return self.read(out)

    def private_pem(self, pkcs8: bytes) -> str:
        src = self.write(pkcs8, ".der")
        pem = src[:-4] + ".pem"
        self.run("pkey", "-inform", "DER", "-in", src, "-out", pem)
        return pem

    def verify(self, pem: str, algorithm: str, message_type: str, message: bytes,
               signature: bytes) -> bool:
        """openssl dgst -verify (RAW) or openssl pkeyutl -verify (DIGEST, Ed25519)."""
        md = md_name(algorithm)
        msg, sig = self.write(message), self.write(signature)
        pss = algorithm.startswith("RSASSA_PSS_")
        if message_type == "RAW" and algorithm == "ED25519_SHA_512":
            args = ["pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin", "-in", msg,
                    "-sigfile", sig]
        elif message_type == "RAW":
            args = ["dgst", f"-{md}", "-verify", pem, "-signature", sig]
            if pss:
                args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                         "-sigopt", f"rsa_mgf1_md:{md}"]
            if algorithm == "SM2DSA":
                args += ["-sigopt", f"distid:{SM2_ID}"]
            args.append(msg)
        else:
            args = ["pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in", msg, "-sigfile", sig]
            if algorithm != "SM2DSA":
                args += ["-pkeyopt", f"digest:{md}"]
            if pss:
                args += ["-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest",
                         "-pkeyopt", f"rsa_mgf1_md:{md}"]
            elif algorithm.startswith("RSASSA_PKCS1"):
                args += ["-pkeyopt", "rsa_padding_mode:pkcs1"]
        p = self.run(*args, check=False)
        text = (p.stdout + p.stderr).decode(errors="replace")
        if p.returncode == 0:
            if "Verified" not in text:
                raise AssertionError(f"openssl {' '.join(args)}: exit 0 without 'Verified': {text}")
            return True
        if "failure" not in text.lower():
            raise AssertionError(f"openssl {' '.join(args)} failed to run: {text}")
        return False

    def sign(self, private_pem: str, algorithm: str, message: bytes) -> bytes:
        md = md_name(algorithm)
        msg, out = self.write(message), self.path(uuid.uuid4().hex + ".sig")
        if algorithm == "ED25519_SHA_512":
            self.run("pkeyutl", "-sign", "-inkey", private_pem, "-rawin", "-in", msg, "-out", out)
        else:
            args = ["dgst", f"-{md}", "-sign", private_pem, "-out", out]
            if algorithm.startswith("RSASSA_PSS_"):
                args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest",
                         "-sigopt", f"rsa_mgf1_md:{md}"]
            self.run(*args, msg)
        return self.read(out)

    def oaep_encrypt(self, pem: str, algorithm: str, plaintext: bytes) -> bytes:
        md = md_name(algorithm)
        src, out = self.write(plaintext), self.path(uuid.uuid4().hex + ".ct")
        self.run("pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in", src, "-out", out,
                 "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}",
                 "-pkeyopt", f"rsa_mgf1_md:{md}")
        return self.read(out)

    def ecdh(self, spec: str, peer_pem: str) -> tuple[bytes, bytes]:
        """A fresh key on the spec's curve: (its public key as DER, the secret with peer)."""
        key = self.path(uuid.uuid4().hex + ".key.pem")
        self.run("genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{OPENSSL_CURVE[spec]}",
                 "-pkeyopt", "ec_param_enc:named_curve", "-out", key)
        pub = key + ".pub.der"
        self.run("pkey", "-in", key, "-pubout", "-outform", "DER", "-out", pub)
        secret = key + ".secret"
        self.run("pkeyutl", "-derive", "-inkey", key, "-peerkey", peer_pem, "-out", secret)
        return self.read(pub), self.read(secret)


class AsymmetricCase(ScytaleTestCase):
    """A class server, an OpenSSL over a temporary directory, and key helpers."""

    server_name = "asymmetric"
    class_server = True   # False: the tests start their own servers

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        require_independent_tools()
        cls._tmp = tempfile.TemporaryDirectory(prefix="scytale-e2e-asymmetric-")
        cls.openssl = OpenSSL(cls._tmp.name)
        if cls.class_server:
            try:
                cls.server = cls.start_class_server(name=cls.server_name)
            except BaseException:
                cls._tmp.cleanup()
                raise
            cls.kms = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._tmp.cleanup()

    @classmethod
    def create_keys(cls, specs: Iterable[tuple[str, Optional[str]]]) -> dict:
        """{(spec, usage): KeyMetadata}, created two at a time (RSA_4096 takes a while)."""
        specs = list(specs)

        def create(su):
            spec, usage = su
            kw = {"KeySpec": spec, "Description": f"e2e {spec} {usage}"}
            if usage:
                kw["KeyUsage"] = usage
            return cls.kms.create_key(**kw)["KeyMetadata"]

        return dict(zip(specs, parallel(create, specs, workers=2)))

    def assertVerifies(self, key_id: str, algorithm: str, message: bytes, signature: bytes,
                       message_type: str = "RAW"):
        r = self.kms.verify(KeyId=key_id, Message=message, MessageType=message_type,
                            Signature=signature, SigningAlgorithm=algorithm)
        self.assertTrue(r["SignatureValid"])
        self.assertEqual(algorithm, r["SigningAlgorithm"])
        return r

    def assertSignatureRefused(self, key_id: str, algorithm: str, message: bytes,
                               signature: bytes, message_type: str = "RAW"):
        return self.assertClientError(BAD_SIGNATURE, self.kms.verify, KeyId=key_id,
                                      Message=message, MessageType=message_type,
                                      Signature=signature, SigningAlgorithm=algorithm)


# --------------------------------------------------------------------------------------
# 1. Signatures made by Scytale, verified by openssl and cryptography
# --------------------------------------------------------------------------------------

class SigningInteropTest(AsymmetricCase):
    server_name = "asymmetric-sign"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        made = cls.create_keys((spec, "SIGN_VERIFY") for spec in SIGNING_SPECS)
        cls.keys = {spec: made[(spec, "SIGN_VERIFY")] for spec in SIGNING_SPECS}
        cls.public = {spec: cls.kms.get_public_key(KeyId=k["KeyId"])
                      for spec, k in cls.keys.items()}
        cls.pem = {spec: cls.openssl.public_pem(r["PublicKey"]) for spec, r in cls.public.items()}

    def test_key_metadata_and_get_public_key_describe_each_signing_spec(self):
        for spec, algorithms in SIGNING_SPECS.items():
            with self.subTest(spec):
                md = self.kms.describe_key(KeyId=self.keys[spec]["KeyId"])["KeyMetadata"]
                for m in (md, self.keys[spec]):
                    self.assertEqual(spec, m["KeySpec"])
                    self.assertEqual(spec, m["CustomerMasterKeySpec"])
                    self.assertEqual("SIGN_VERIFY", m["KeyUsage"])
                    self.assertEqual(algorithms, m["SigningAlgorithms"])
                    for absent in ("EncryptionAlgorithms", "MacAlgorithms",
                                   "KeyAgreementAlgorithms"):
                        self.assertNotIn(absent, m)
                pub = self.public[spec]
                self.assertEqual(self.keys[spec]["Arn"], pub["KeyId"])
                self.assertEqual(spec, pub["KeySpec"])
                self.assertEqual(spec, pub["CustomerMasterKeySpec"])
                self.assertEqual("SIGN_VERIFY", pub["KeyUsage"])
                self.assertEqual(algorithms, pub["SigningAlgorithms"])
                self.assertNotIn("EncryptionAlgorithms", pub)
                self.assertNotIn("KeyAgreementAlgorithms", pub)
                # The DER SubjectPublicKeyInfo is the spec's key to openssl, and re-encodes
                # to the same bytes (DER, not BER).
                self.assertIn(OPENSSL_KEY_TEXT[spec], self.openssl.public_text(pub["PublicKey"]))
                der = self.openssl.path(uuid.uuid4().hex + ".der")
                self.openssl.run("pkey", "-pubin", "-in", self.pem[spec], "-outform", "DER",
                                 "-out", der)
                self.assertEqual(pub["PublicKey"], self.openssl.read(der))
                # AWS's forms: RSA with e = 65537; EC points uncompressed (04 || X || Y, the
                # BIT STRING with no unused bits); Ed25519 the 32-byte key of RFC 8410.
                key = pub["PublicKey"]
                if spec.startswith("RSA_"):
                    self.assertIn("Exponent: 65537 (0x10001)",
                                  self.openssl.public_text(key))
                elif spec == "ECC_NIST_EDWARDS25519":
                    self.assertEqual(44, len(key))
                    self.assertEqual(bytes.fromhex("302a300506032b6570032100"), key[:12])
                else:
                    field = EC_FIELD_BYTES[spec]
                    self.assertEqual(b"\x00\x04", key[-2 * field - 2:-2 * field], key.hex())
                # By ARN, the same key.
                by_arn = self.kms.get_public_key(KeyId=self.keys[spec]["Arn"])
                self.assertEqual(pub["PublicKey"], by_arn["PublicKey"])

    def test_every_algorithm_raw_and_digest_verifies_with_openssl_and_cryptography(self):
        lengths = [1, 64, 1000, 4096, 333, 2]
        cases = []   # (spec, algorithm, message, digest, raw signature, digest signature)
        sm2_digest_requests = []
        for spec, algorithms in SIGNING_SPECS.items():
            for i, algorithm in enumerate(algorithms):
                message = os.urandom(lengths[i % len(lengths)])
                cases.append([spec, algorithm, message, None, None, None])
                if algorithm == "SM2DSA":
                    sm2_digest_requests.append({"op": "digest", "algorithm": algorithm,
                                                "message": b64(message),
                                                "public_key": b64(self.public[spec]["PublicKey"])})
        sm2_digests = iter(independent(sm2_digest_requests))
        for case in cases:
            spec, algorithm, message = case[:3]
            key_id = self.keys[spec]["KeyId"]
            if algorithm == "ED25519_SHA_512":
                digest = None
            elif algorithm == "SM2DSA":
                digest = unb64(next(sm2_digests)["digest"])   # SM3(Z_A || M)
            else:
                digest = local_digest(algorithm, message)
            r = self.kms.sign(KeyId=key_id, Message=message, MessageType="RAW",
                              SigningAlgorithm=algorithm)
            self.assertEqual(self.keys[spec]["Arn"], r["KeyId"])
            self.assertEqual(algorithm, r["SigningAlgorithm"])
            case[3], case[4] = digest, r["Signature"]
            if digest is not None:
                case[5] = self.kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST",
                                        SigningAlgorithm=algorithm)["Signature"]

        # cryptography (and the pure-Python SM2DSA verifier), in one batch.
        requests, expected, labels = [], [], []

        def add(case, message_type, message, signature, valid, label):
            requests.append({"op": "verify", "public_key": b64(self.public[case[0]]["PublicKey"]),
                             "algorithm": case[1], "message_type": message_type,
                             "message": b64(message), "signature": b64(signature)})
            expected.append(valid)
            labels.append(f"{case[0]} {case[1]} {label}")

        for case in cases:
            spec, algorithm, message, digest, raw_sig, digest_sig = case
            add(case, "RAW", message, raw_sig, True, "RAW signature of the message")
            add(case, "RAW", message, flip(raw_sig, len(raw_sig) // 2), False,
                "RAW signature with a changed byte")
            add(case, "RAW", flip(message, 0), raw_sig, False, "RAW signature, changed message")
            if digest is not None:
                add(case, "DIGEST", digest, raw_sig, True, "RAW signature checked over the digest")
                add(case, "DIGEST", digest, digest_sig, True, "DIGEST signature")
                add(case, "RAW", message, digest_sig, True, "DIGEST signature of the message")
        results = independent(requests)
        for label, want, got in zip(labels, expected, results):
            with self.subTest(f"cryptography: {label}"):
                self.assertNotIn("error", got, got.get("trace"))
                self.assertEqual(want, got["valid"])

        # openssl, and Scytale itself across RAW and DIGEST.
        def openssl_checks(case):
            spec, algorithm, message, digest, raw_sig, digest_sig = case
            pem = self.pem[spec]
            out = [("RAW signature", self.openssl.verify(pem, algorithm, "RAW", message, raw_sig),
                    True),
                   ("RAW signature, changed byte",
                    self.openssl.verify(pem, algorithm, "RAW", message,
                                        flip(raw_sig, len(raw_sig) - 3)), False)]
            if digest is not None:
                out += [("DIGEST signature over the digest",
                         self.openssl.verify(pem, algorithm, "DIGEST", digest, digest_sig), True),
                        ("DIGEST signature over the message",
                         self.openssl.verify(pem, algorithm, "RAW", message, digest_sig), True),
                        ("RAW signature over the digest",
                         self.openssl.verify(pem, algorithm, "DIGEST", digest, raw_sig), True)]
            return out

        for case, checks in zip(cases, parallel(openssl_checks, cases)):
            for label, got, want in checks:
                with self.subTest(f"openssl: {case[0]} {case[1]} {label}"):
                    self.assertEqual(want, got)
        for case in cases:
            spec, algorithm, message, digest, raw_sig, digest_sig = case
            with self.subTest(f"Scytale Verify: {spec} {algorithm}"):
                key_id = self.keys[spec]["Arn"]
                self.assertVerifies(key_id, algorithm, message, raw_sig)
                if digest is not None:
                    self.assertVerifies(key_id, algorithm, message, digest_sig)
                    self.assertVerifies(key_id, algorithm, digest, raw_sig, "DIGEST")
                    self.assertVerifies(key_id, algorithm, digest, digest_sig, "DIGEST")

    def test_signatures_have_aws_encodings_and_sizes(self):
        message = b"encodings " + os.urandom(16)
        sizes = {"RSA_2048": 256, "RSA_3072": 384, "RSA_4096": 512}
        for spec, algorithms in SIGNING_SPECS.items():
            algorithm = algorithms[-1]
            with self.subTest(spec):
                key_id = self.keys[spec]["KeyId"]
                sig = self.kms.sign(KeyId=key_id, Message=message,
                                    SigningAlgorithm=algorithm)["Signature"]
                if spec in sizes:
                    self.assertEqual(sizes[spec], len(sig))   # exactly k bytes
                elif spec == "ECC_NIST_EDWARDS25519":
                    self.assertEqual(64, len(sig))            # R || S (RFC 8032)
                else:
                    # ECDSA and SM2DSA: a DER SEQUENCE of two INTEGERs (not r || s).
                    size = {"ECC_NIST_P384": 48, "ECC_NIST_P521": 66}.get(spec, 32)
                    raw = der_ecdsa_to_p1363(sig, size)
                    self.assertEqual(2 * size, len(raw))
                    # The same signature as r || s (IEEE P1363) is not accepted.
                    self.assertSignatureRefused(key_id, algorithm, message, raw)
                # Omitted MessageType means RAW.
                self.assertVerifies(key_id, algorithm, message, sig)

    def test_pkcs1_and_ed25519_are_deterministic_pss_ecdsa_and_sm2_are_not(self):
        message = b"determinism " + os.urandom(8)
        for spec, algorithm, same in [("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", True),
                                      ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", True),
                                      ("RSA_2048", "RSASSA_PSS_SHA_256", False),
                                      ("ECC_NIST_P256", "ECDSA_SHA_256", False),
                                      ("SM2", "SM2DSA", False)]:
            with self.subTest(f"{spec} {algorithm}"):
                key_id = self.keys[spec]["KeyId"]
                one, two = (self.kms.sign(KeyId=key_id, Message=message,
                                          SigningAlgorithm=algorithm)["Signature"]
                            for _ in range(2))
                self.assertEqual(same, one == two)

    def test_a_changed_byte_anywhere_or_another_key_or_algorithm_is_an_invalid_signature(self):
        message = b"tamper " + os.urandom(24)
        for spec, algorithms in SIGNING_SPECS.items():
            algorithm = algorithms[0]
            key_id = self.keys[spec]["KeyId"]
            sig = self.kms.sign(KeyId=key_id, Message=message,
                                SigningAlgorithm=algorithm)["Signature"]
            with self.subTest(spec):
                for index in (0, 1, len(sig) // 2, len(sig) - 1):
                    self.assertSignatureRefused(key_id, algorithm, message, flip(sig, index, 0x80))
                self.assertSignatureRefused(key_id, algorithm, flip(message, 5), sig)
                self.assertSignatureRefused(key_id, algorithm, message, sig[:-1])
                self.assertSignatureRefused(key_id, algorithm, message, sig + b"\x00")
                self.assertSignatureRefused(key_id, algorithm, message + b"x", sig)
        # A PKCS#1 v1.5 signature is not a PSS one, nor SHA-256 one a SHA-384 one.
        rsa = self.keys["RSA_2048"]["KeyId"]
        sig = self.kms.sign(KeyId=rsa, Message=message,
                            SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
        self.assertSignatureRefused(rsa, "RSASSA_PSS_SHA_256", message, sig)
        self.assertSignatureRefused(rsa, "RSASSA_PKCS1_V1_5_SHA_384", message, sig)
        # Another key of the same spec: invalid, not an error of another kind.
        other = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        sig = self.kms.sign(KeyId=self.keys["ECC_NIST_P256"]["KeyId"], Message=message,
                            SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.assertSignatureRefused(other["KeyId"], "ECDSA_SHA_256", message, sig)

    def test_concurrent_signing_with_one_key_gives_good_signatures(self):
        def sign(i):
            spec, algorithm = [("ECC_NIST_P256", "ECDSA_SHA_256"),
                               ("RSA_2048", "RSASSA_PSS_SHA_256"),
                               ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")][i % 3]
            message = f"concurrent {i} ".encode() + os.urandom(8)
            kms = self.server.client()
            return spec, algorithm, message, kms.sign(
                KeyId=self.keys[spec]["KeyId"], Message=message,
                SigningAlgorithm=algorithm)["Signature"]

        signed = parallel(sign, range(60), workers=8)
        results = independent([{"op": "verify", "public_key": b64(self.public[spec]["PublicKey"]),
                                "algorithm": algorithm, "message": b64(message),
                                "signature": b64(signature)}
                               for spec, algorithm, message, signature in signed])
        for (spec, algorithm, message, _), r in zip(signed, results):
            self.assertEqual({"valid": True}, r, f"{spec} {algorithm} {message!r}")

    def test_raw_messages_up_to_4096_bytes_and_digests_of_the_exact_length(self):
        key_id = self.keys["ECC_NIST_P256"]["KeyId"]
        sig = self.kms.sign(KeyId=key_id, Message=b"\xa5" * 4096,
                            SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        self.assertVerifies(key_id, "ECDSA_SHA_256", b"\xa5" * 4096, sig)
        self.assertClientError(VALIDATION, self.kms.sign, KeyId=key_id, Message=b"\xa5" * 4097,
                               SigningAlgorithm="ECDSA_SHA_256")
        self.assertClientError(VALIDATION, self.kms.verify, KeyId=key_id,
                               Message=b"\xa5" * 4097, Signature=sig,
                               SigningAlgorithm="ECDSA_SHA_256")
        # A DIGEST message may be a digest of a message longer than 4096 bytes.
        big = os.urandom(10000)
        sig = self.kms.sign(KeyId=key_id, Message=hashlib.sha256(big).digest(),
                            MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        pem = self.pem["ECC_NIST_P256"]
        self.assertTrue(self.openssl.verify(pem, "ECDSA_SHA_256", "RAW", big, sig))
        # DIGEST of the wrong length, for each family: ValidationException.
        for spec, algorithm, digest_len in [("RSA_2048", "RSASSA_PSS_SHA_384", 48),
                                            ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_512", 64),
                                            ("ECC_NIST_P256", "ECDSA_SHA_256", 32),
                                            ("ECC_NIST_P384", "ECDSA_SHA_384", 48),
                                            ("ECC_NIST_P521", "ECDSA_SHA_512", 64),
                                            ("ECC_SECG_P256K1", "ECDSA_SHA_256", 32),
                                            ("SM2", "SM2DSA", 32)]:
            key_id = self.keys[spec]["KeyId"]
            for wrong in (digest_len - 1, digest_len + 1, 20):
                with self.subTest(f"{spec} {algorithm} digest of {wrong} bytes"):
                    self.assertClientError(VALIDATION, self.kms.sign, KeyId=key_id,
                                           Message=os.urandom(wrong), MessageType="DIGEST",
                                           SigningAlgorithm=algorithm)
                    self.assertClientError(VALIDATION, self.kms.verify, KeyId=key_id,
                                           Message=os.urandom(wrong), MessageType="DIGEST",
                                           Signature=b"\x30\x06\x02\x01\x01\x02\x01\x01",
                                           SigningAlgorithm=algorithm)

    def test_ed25519_signs_raw_only_and_ed25519ph_is_unsupported(self):
        key_id = self.keys["ECC_NIST_EDWARDS25519"]["KeyId"]
        digest = hashlib.sha512(b"x").digest()
        self.assertClientError(VALIDATION, self.kms.sign, KeyId=key_id, Message=digest,
                               MessageType="DIGEST", SigningAlgorithm="ED25519_SHA_512")
        # Documented deviation: Ed25519ph needs OpenSSL >= 3.2.
        self.assertClientError(UNSUPPORTED, self.kms.sign, KeyId=key_id, Message=b"x",
                               SigningAlgorithm="ED25519_PH_SHA_512")
        self.assertClientError(UNSUPPORTED, self.kms.sign, KeyId=key_id, Message=digest,
                               MessageType="DIGEST", SigningAlgorithm="ED25519_PH_SHA_512")


# --------------------------------------------------------------------------------------
# 2. Data key pairs: the private key, the public key, local signatures
# --------------------------------------------------------------------------------------

KEY_PAIR_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                  "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "SM2"]


class DataKeyPairInteropTest(AsymmetricCase):
    server_name = "asymmetric-pairs"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wrapping = cls.kms.create_key(Description="wraps data key pairs")["KeyMetadata"]
        made = cls.create_keys([("ECC_NIST_P256", "SIGN_VERIFY"), ("RSA_2048", "SIGN_VERIFY"),
                                ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
                                ("ECC_NIST_P384", "SIGN_VERIFY")])
        cls.signers = {spec: md for (spec, _), md in made.items()}

    def test_every_key_pair_spec_gives_a_pkcs8_private_key_matching_its_public_key(self):
        context = {"purpose": "e2e-data-key-pair", "run": uuid.uuid4().hex}

        def generate(spec):
            return self.kms.generate_data_key_pair(KeyId=self.wrapping["KeyId"],
                                                   KeyPairSpec=spec, EncryptionContext=context)

        pairs = dict(zip(KEY_PAIR_SPECS, parallel(generate, KEY_PAIR_SPECS, workers=2)))
        results = iter(independent([{"op": "public_of", "private_key": b64(r["PrivateKeyPlaintext"])}
                                    for r in pairs.values()]))
        for spec, r in pairs.items():
            local = next(results)
            with self.subTest(spec):
                self.assertEqual(self.wrapping["Arn"], r["KeyId"])
                self.assertEqual(spec, r["KeyPairSpec"])
                self.assertIn(OPENSSL_KEY_TEXT[spec], self.openssl.public_text(r["PublicKey"]))
                # openssl: a PKCS#8 PrivateKeyInfo whose public half is the PublicKey returned.
                self.assertEqual(r["PublicKey"],
                                 self.openssl.private_der_to_public_der(r["PrivateKeyPlaintext"]))
                # cryptography agrees (it cannot load SM2 keys).
                if spec != "SM2":
                    self.assertNotIn("error", local, local.get("trace"))
                    self.assertEqual(r["PublicKey"], unb64(local["public_key"]))
                # The blob is an ordinary symmetric ciphertext of that private key, bound to
                # the encryption context.
                dec = self.kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"],
                                       EncryptionContext=context)
                self.assertEqual(r["PrivateKeyPlaintext"], dec["Plaintext"])
                self.assertEqual(self.wrapping["Arn"], dec["KeyId"])
                self.assertClientError(BAD_BLOB, self.kms.decrypt,
                                       CiphertextBlob=r["PrivateKeyCiphertextBlob"])
                self.assertClientError(BAD_BLOB, self.kms.decrypt,
                                       CiphertextBlob=r["PrivateKeyCiphertextBlob"],
                                       EncryptionContext={**context, "run": "other"})
        # Each call makes a new pair.
        again = generate("ECC_NIST_P256")
        self.assertNotEqual(pairs["ECC_NIST_P256"]["PublicKey"], again["PublicKey"])

    def test_without_plaintext_the_blob_still_holds_the_matching_private_key(self):
        for spec in ("ECC_NIST_P256", "RSA_2048", "ECC_NIST_EDWARDS25519"):
            with self.subTest(spec):
                r = self.kms.generate_data_key_pair_without_plaintext(
                    KeyId=self.wrapping["Arn"], KeyPairSpec=spec)
                self.assertNotIn("PrivateKeyPlaintext", r)
                self.assertEqual(spec, r["KeyPairSpec"])
                self.assertEqual(self.wrapping["Arn"], r["KeyId"])
                private = self.kms.decrypt(CiphertextBlob=r["PrivateKeyCiphertextBlob"])[
                    "Plaintext"]
                self.assertEqual(r["PublicKey"], self.openssl.private_der_to_public_der(private))

    def test_a_local_signature_with_a_data_key_pair_verifies_only_where_it_should(self):
        message = b"signed locally " + os.urandom(32)
        cases = [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_256"),
                 ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
                 ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"), ("ECC_NIST_P384", "ECDSA_SHA_384")]
        pairs = {spec: self.kms.generate_data_key_pair(KeyId=self.wrapping["KeyId"],
                                                       KeyPairSpec=spec)
                 for spec in {spec for spec, _ in cases}}
        signed = independent([{"op": "sign", "private_key": b64(pairs[spec]["PrivateKeyPlaintext"]),
                               "algorithm": algorithm, "message": b64(message)}
                              for spec, algorithm in cases])
        for (spec, algorithm), local in zip(cases, signed):
            with self.subTest(f"{spec} {algorithm}"):
                self.assertNotIn("error", local, local.get("trace"))
                by_cryptography = unb64(local["signature"])
                by_openssl = self.openssl.sign(
                    self.openssl.private_pem(pairs[spec]["PrivateKeyPlaintext"]), algorithm,
                    message)
                pem = self.openssl.public_pem(pairs[spec]["PublicKey"])
                kms_key = self.signers[spec]["KeyId"]
                for who, sig in (("cryptography", by_cryptography), ("openssl", by_openssl)):
                    # It is a good signature under the data key pair's public key ...
                    self.assertTrue(self.openssl.verify(pem, algorithm, "RAW", message, sig), who)
                    # ... and not one under a KMS key: Scytale refuses it.
                    self.assertSignatureRefused(kms_key, algorithm, message, sig)
                # A Scytale signature under the KMS key verifies; one changed byte does not;
                # and it is no signature under the data key pair either.
                sig = self.kms.sign(KeyId=kms_key, Message=message,
                                    SigningAlgorithm=algorithm)["Signature"]
                self.assertVerifies(kms_key, algorithm, message, sig)
                for index in (0, len(sig) // 3, len(sig) - 1):
                    self.assertSignatureRefused(kms_key, algorithm, message, flip(sig, index))
                self.assertFalse(self.openssl.verify(pem, algorithm, "RAW", message, sig))

    def test_key_pair_errors(self):
        rsa_sign = self.signers["RSA_2048"]["KeyId"]
        self.assertClientError(USAGE, self.kms.generate_data_key_pair, KeyId=rsa_sign,
                               KeyPairSpec="ECC_NIST_P256")
        self.assertClientError(USAGE, self.kms.generate_data_key_pair_without_plaintext,
                               KeyId=rsa_sign, KeyPairSpec="ECC_NIST_P256")
        hmac_key = self.kms.create_key(KeySpec="HMAC_256",
                                       KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        self.assertClientError(USAGE, self.kms.generate_data_key_pair, KeyId=hmac_key["KeyId"],
                               KeyPairSpec="RSA_2048")
        self.assertClientError(VALIDATION, self.kms.generate_data_key_pair,
                               KeyId=self.wrapping["KeyId"], KeyPairSpec="RSA_1024")
        self.assertClientError("NotFoundException", self.kms.generate_data_key_pair,
                               KeyId=str(uuid.uuid4()), KeyPairSpec="RSA_2048")


# --------------------------------------------------------------------------------------
# 3. RSA-OAEP: ciphertexts made locally decrypt in Scytale; size limits
# --------------------------------------------------------------------------------------

class RsaOaepInteropTest(AsymmetricCase):
    server_name = "asymmetric-oaep"
    SPECS = ["RSA_2048", "RSA_3072", "RSA_4096"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        made = cls.create_keys((spec, "ENCRYPT_DECRYPT") for spec in cls.SPECS)
        cls.keys = {spec: made[(spec, "ENCRYPT_DECRYPT")] for spec in cls.SPECS}
        cls.public = {spec: cls.kms.get_public_key(KeyId=k["KeyId"])
                      for spec, k in cls.keys.items()}
        cls.pem = {spec: cls.openssl.public_pem(r["PublicKey"]) for spec, r in cls.public.items()}
        cls.symmetric = cls.kms.create_key()["KeyMetadata"]

    def decrypt(self, spec: str, algorithm: str, blob: bytes) -> bytes:
        r = self.kms.decrypt(KeyId=self.keys[spec]["KeyId"], CiphertextBlob=blob,
                             EncryptionAlgorithm=algorithm)
        self.assertEqual(self.keys[spec]["Arn"], r["KeyId"])
        self.assertEqual(algorithm, r["EncryptionAlgorithm"])
        return r["Plaintext"]

    def test_metadata_lists_the_oaep_algorithms(self):
        for spec in self.SPECS:
            with self.subTest(spec):
                for m in (self.keys[spec], self.public[spec]):
                    self.assertEqual(spec, m["KeySpec"])
                    self.assertEqual("ENCRYPT_DECRYPT", m["KeyUsage"])
                    self.assertEqual(OAEP, m["EncryptionAlgorithms"])
                    self.assertNotIn("SigningAlgorithms", m)
                self.assertIn(OPENSSL_KEY_TEXT[spec],
                              self.openssl.public_text(self.public[spec]["PublicKey"]))
        # KeyUsage defaults to ENCRYPT_DECRYPT for an RSA spec.
        md = self.kms.create_key(KeySpec="RSA_2048")["KeyMetadata"]
        self.assertEqual("ENCRYPT_DECRYPT", md["KeyUsage"])
        self.assertEqual(OAEP, md["EncryptionAlgorithms"])

    def test_local_ciphertexts_at_the_size_limit_decrypt_in_scytale(self):
        cases = [(spec, algorithm) for spec in self.SPECS for algorithm in OAEP]
        plaintexts = {c: os.urandom(OAEP_LIMITS[c]) for c in cases}
        short = {c: os.urandom(1 + i) for i, c in enumerate(cases)}
        by_cryptography = iter(independent(
            [{"op": "oaep_encrypt", "public_key": b64(self.public[spec]["PublicKey"]),
              "algorithm": algorithm, "plaintext": b64(plaintexts[(spec, algorithm)])}
             for spec, algorithm in cases]))
        by_openssl = parallel(lambda c: (self.openssl.oaep_encrypt(self.pem[c[0]], c[1],
                                                                    plaintexts[c]),
                                         self.openssl.oaep_encrypt(self.pem[c[0]], c[1],
                                                                    short[c])), cases)
        for (spec, algorithm), (ossl_full, ossl_short) in zip(cases, by_openssl):
            local = next(by_cryptography)
            with self.subTest(f"{spec} {algorithm}"):
                self.assertNotIn("error", local, local.get("trace"))
                ct = unb64(local["ciphertext"])
                modulus = int(spec[4:]) // 8
                self.assertEqual(modulus, len(ct))
                self.assertEqual(plaintexts[(spec, algorithm)], self.decrypt(spec, algorithm, ct))
                self.assertEqual(plaintexts[(spec, algorithm)],
                                 self.decrypt(spec, algorithm, ossl_full))
                self.assertEqual(short[(spec, algorithm)],
                                 self.decrypt(spec, algorithm, ossl_short))
                # The other OAEP hash, a changed byte, another RSA key: InvalidCiphertext.
                other_alg = OAEP[1 - OAEP.index(algorithm)]
                self.assertClientError(BAD_BLOB, self.kms.decrypt, KeyId=self.keys[spec]["KeyId"],
                                       CiphertextBlob=ct, EncryptionAlgorithm=other_alg)
                self.assertClientError(BAD_BLOB, self.kms.decrypt, KeyId=self.keys[spec]["KeyId"],
                                       CiphertextBlob=flip(ct, modulus // 2),
                                       EncryptionAlgorithm=algorithm)
                other_spec = self.SPECS[(self.SPECS.index(spec) + 1) % 3]
                self.assertClientError(BAD_BLOB, self.kms.decrypt,
                                       KeyId=self.keys[other_spec]["KeyId"], CiphertextBlob=ct,
                                       EncryptionAlgorithm=algorithm)

    def test_scytale_encrypt_takes_the_limit_and_refuses_one_byte_more(self):
        for (spec, algorithm), limit in OAEP_LIMITS.items():
            with self.subTest(f"{spec} {algorithm}"):
                key_id = self.keys[spec]["KeyId"]
                plaintext = os.urandom(limit)
                r = self.kms.encrypt(KeyId=key_id, Plaintext=plaintext,
                                     EncryptionAlgorithm=algorithm)
                self.assertEqual(self.keys[spec]["Arn"], r["KeyId"])
                self.assertEqual(algorithm, r["EncryptionAlgorithm"])
                self.assertEqual(int(spec[4:]) // 8, len(r["CiphertextBlob"]))
                self.assertEqual(plaintext, self.decrypt(spec, algorithm, r["CiphertextBlob"]))
                self.assertClientError(VALIDATION, self.kms.encrypt, KeyId=key_id,
                                       Plaintext=os.urandom(limit + 1),
                                       EncryptionAlgorithm=algorithm)
        # RSA-OAEP is randomized.
        key_id = self.keys["RSA_2048"]["KeyId"]
        one, two = (self.kms.encrypt(KeyId=key_id, Plaintext=b"same",
                                     EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
                    for _ in range(2))
        self.assertNotEqual(one, two)

    def test_decrypt_needs_the_key_id_and_an_oaep_algorithm(self):
        key_id = self.keys["RSA_2048"]["KeyId"]
        ct = self.kms.encrypt(KeyId=key_id, Plaintext=b"needs the key",
                              EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
        self.assertClientError(BAD_BLOB, self.kms.decrypt, CiphertextBlob=ct,
                               EncryptionAlgorithm="RSAES_OAEP_SHA_1")
        # SYMMETRIC_DEFAULT (named, or by default) with an RSA key: InvalidKeyUsage, as AWS's
        # "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048".
        self.assertClientError(USAGE, self.kms.decrypt, KeyId=key_id, CiphertextBlob=ct)
        self.assertClientError(USAGE, self.kms.decrypt, KeyId=key_id, CiphertextBlob=ct,
                               EncryptionAlgorithm="SYMMETRIC_DEFAULT")
        self.assertClientError(USAGE, self.kms.encrypt, KeyId=key_id, Plaintext=b"x")
        self.assertClientError(USAGE, self.kms.encrypt, KeyId=key_id, Plaintext=b"x",
                               EncryptionAlgorithm="SYMMETRIC_DEFAULT")
        # An OAEP algorithm with a symmetric key.
        self.assertClientError(USAGE, self.kms.encrypt, KeyId=self.symmetric["KeyId"],
                               Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
        # GenerateDataKey under an RSA key: InvalidKeyUsage.
        self.assertClientError(USAGE, self.kms.generate_data_key, KeyId=key_id,
                               KeySpec="AES_256")

    def test_re_encrypt_between_rsa_and_symmetric_keys(self):
        rsa = self.keys["RSA_3072"]
        plaintext = os.urandom(300)
        local = independent([{"op": "oaep_encrypt", "public_key": b64(self.public["RSA_3072"]["PublicKey"]),
                              "algorithm": "RSAES_OAEP_SHA_256", "plaintext": b64(plaintext)}])[0]
        r = self.kms.re_encrypt(CiphertextBlob=unb64(local["ciphertext"]),
                                SourceKeyId=rsa["KeyId"],
                                SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                                DestinationKeyId=self.symmetric["KeyId"],
                                DestinationEncryptionContext={"to": "symmetric"})
        self.assertEqual(rsa["Arn"], r["SourceKeyId"])
        self.assertEqual(self.symmetric["Arn"], r["KeyId"])
        self.assertEqual("RSAES_OAEP_SHA_256", r["SourceEncryptionAlgorithm"])
        self.assertEqual("SYMMETRIC_DEFAULT", r["DestinationEncryptionAlgorithm"])
        self.assertEqual(plaintext, self.kms.decrypt(CiphertextBlob=r["CiphertextBlob"],
                                                     EncryptionContext={"to": "symmetric"})[
            "Plaintext"])
        back = self.kms.re_encrypt(CiphertextBlob=r["CiphertextBlob"],
                                   SourceEncryptionContext={"to": "symmetric"},
                                   DestinationKeyId=rsa["Arn"],
                                   DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
        self.assertEqual(rsa["Arn"], back["KeyId"])
        self.assertEqual("RSAES_OAEP_SHA_1", back["DestinationEncryptionAlgorithm"])
        self.assertEqual(384, len(back["CiphertextBlob"]))
        self.assertEqual(plaintext, self.decrypt("RSA_3072", "RSAES_OAEP_SHA_1",
                                                 back["CiphertextBlob"]))


# --------------------------------------------------------------------------------------
# 4. ECDH
# --------------------------------------------------------------------------------------

class EcdhInteropTest(AsymmetricCase):
    server_name = "asymmetric-ecdh"
    SPECS = ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {spec: cls.kms.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
                    for spec in cls.SPECS}
        cls.public = {spec: cls.kms.get_public_key(KeyId=k["KeyId"])
                      for spec, k in cls.keys.items()}
        cls.pem = {spec: cls.openssl.public_pem(r["PublicKey"]) for spec, r in cls.public.items()}

    def derive(self, spec: str, peer_der: bytes) -> bytes:
        r = self.kms.derive_shared_secret(KeyId=self.keys[spec]["KeyId"],
                                          KeyAgreementAlgorithm="ECDH", PublicKey=peer_der)
        self.assertEqual(self.keys[spec]["Arn"], r["KeyId"])
        self.assertEqual("ECDH", r["KeyAgreementAlgorithm"])
        self.assertEqual("AWS_KMS", r["KeyOrigin"])
        return r["SharedSecret"]

    def test_derive_shared_secret_equals_the_secret_derived_locally(self):
        local = independent([{"op": "ecdh", "peer_public_key": b64(self.public[s]["PublicKey"])}
                             for s in self.SPECS])
        for spec, mine in zip(self.SPECS, local):
            with self.subTest(spec):
                for m in (self.keys[spec], self.public[spec]):
                    self.assertEqual("KEY_AGREEMENT", m["KeyUsage"])
                    self.assertEqual(["ECDH"], m["KeyAgreementAlgorithms"])
                    self.assertNotIn("SigningAlgorithms", m)
                    self.assertNotIn("EncryptionAlgorithms", m)
                self.assertNotIn("error", mine, mine.get("trace"))
                secret = unb64(mine["shared_secret"])
                self.assertEqual(ECDH_SECRET_BYTES[spec], len(secret))
                self.assertEqual(secret, self.derive(spec, unb64(mine["public_key"])))
                # openssl pkeyutl -derive with a fresh key of its own.
                pub, ossl_secret = self.openssl.ecdh(spec, self.pem[spec])
                self.assertEqual(ECDH_SECRET_BYTES[spec], len(ossl_secret))
                self.assertEqual(ossl_secret, self.derive(spec, pub))
                self.assertNotEqual(secret, ossl_secret)

    def test_ecdh_errors(self):
        p256 = self.keys["ECC_NIST_P256"]["KeyId"]
        p384_pub = self.public["ECC_NIST_P384"]["PublicKey"]
        # A peer key on another curve.
        self.assertClientError(VALIDATION, self.kms.derive_shared_secret, KeyId=p256,
                               KeyAgreementAlgorithm="ECDH", PublicKey=p384_pub)
        k1_pub, _ = self.openssl.ecdh("ECC_SECG_P256K1", self.openssl.public_pem(
            self.kms.get_public_key(KeyId=self.kms.create_key(
                KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"])[
                "PublicKey"]))
        self.assertClientError(VALIDATION, self.kms.derive_shared_secret, KeyId=p256,
                               KeyAgreementAlgorithm="ECDH", PublicKey=k1_pub)
        # Not a SubjectPublicKeyInfo; an RSA key; a P-256 "point" that is not on the curve
        # (an invalid-curve attack must not reach the private key).
        self.assertClientError(VALIDATION, self.kms.derive_shared_secret, KeyId=p256,
                               KeyAgreementAlgorithm="ECDH", PublicKey=b"\x30\x03\x02\x01\x01")
        rsa = self.kms.create_key(KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
        self.assertClientError(VALIDATION, self.kms.derive_shared_secret, KeyId=p256,
                               KeyAgreementAlgorithm="ECDH",
                               PublicKey=self.kms.get_public_key(KeyId=rsa)["PublicKey"])
        p256_pub = self.public["ECC_NIST_P256"]["PublicKey"]
        self.assertClientError(VALIDATION, self.kms.derive_shared_secret, KeyId=p256,
                               KeyAgreementAlgorithm="ECDH", PublicKey=flip(p256_pub, -1))
        # A SIGN_VERIFY ECC key, an RSA key, a symmetric key: InvalidKeyUsage.
        for spec, usage in [("ECC_NIST_P256", "SIGN_VERIFY"), ("RSA_2048", "ENCRYPT_DECRYPT"),
                            ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")]:
            with self.subTest(f"{spec} {usage}"):
                other = self.kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
                self.assertClientError(USAGE, self.kms.derive_shared_secret,
                                       KeyId=other["KeyId"], KeyAgreementAlgorithm="ECDH",
                                       PublicKey=self.public["ECC_NIST_P256"]["PublicKey"])
        # A KEY_AGREEMENT key signs nothing.
        self.assertClientError(USAGE, self.kms.sign, KeyId=p256, Message=b"m",
                               SigningAlgorithm="ECDSA_SHA_256")


# --------------------------------------------------------------------------------------
# 5. HMAC across restarts
# --------------------------------------------------------------------------------------

class MacAcrossRestartsTest(AsymmetricCase):
    class_server = False

    def test_verify_mac_accepts_generate_mac_after_restarts_and_refuses_any_changed_byte(self):
        server = self.start_server(name="asymmetric-mac")
        kms = server.client()
        keys = {spec: kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
                for spec in MAC_BYTES}
        messages = [b"\x00", b"a MAC over this message " + os.urandom(16), os.urandom(4096)]
        macs = {}
        for spec, md in keys.items():
            algorithm = "HMAC_SHA_" + spec[5:]
            self.assertEqual("GENERATE_VERIFY_MAC", md["KeyUsage"])
            self.assertEqual([algorithm], md["MacAlgorithms"])
            for absent in ("EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms"):
                self.assertNotIn(absent, md)
            for i, message in enumerate(messages):
                r = kms.generate_mac(KeyId=md["KeyId"], Message=message, MacAlgorithm=algorithm)
                self.assertEqual(md["Arn"], r["KeyId"])
                self.assertEqual(algorithm, r["MacAlgorithm"])
                self.assertEqual(MAC_BYTES[spec], len(r["Mac"]))
                macs[(spec, i)] = r["Mac"]
                # HMAC is deterministic.
                self.assertEqual(r["Mac"], kms.generate_mac(KeyId=md["KeyId"], Message=message,
                                                            MacAlgorithm=algorithm)["Mac"])
        # A signing key and an RSA key survive too: same public key, old signature verifies.
        signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        public = kms.get_public_key(KeyId=signer["KeyId"])["PublicKey"]
        signature = kms.sign(KeyId=signer["KeyId"], Message=b"before restart",
                             SigningAlgorithm="ECDSA_SHA_256")["Signature"]

        def check(kms, label):
            for (spec, i), mac in macs.items():
                md, algorithm = keys[spec], "HMAC_SHA_" + spec[5:]
                with self.subTest(f"{label}: {spec} message {i}"):
                    r = kms.verify_mac(KeyId=md["KeyId"], Message=messages[i], Mac=mac,
                                       MacAlgorithm=algorithm)
                    self.assertTrue(r["MacValid"])
                    self.assertEqual(md["Arn"], r["KeyId"])
                    self.assertEqual(algorithm, r["MacAlgorithm"])
                    self.assertEqual(mac, kms.generate_mac(KeyId=md["KeyId"], Message=messages[i],
                                                           MacAlgorithm=algorithm)["Mac"])
            self.assertEqual(public, kms.get_public_key(KeyId=signer["KeyId"])["PublicKey"])
            self.assertTrue(kms.verify(KeyId=signer["KeyId"], Message=b"before restart",
                                       Signature=signature,
                                       SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"])

        check(kms, "before restart")
        server.stop()
        server.start()
        kms = server.client()
        check(kms, "after SIGTERM and restart")

        # Every changed byte of the MAC (two different bit flips each), of the message, a
        # truncated or extended MAC, another key's MAC: KMSInvalidMacException.
        for spec, md in keys.items():
            algorithm = "HMAC_SHA_" + spec[5:]
            message, mac = messages[1], macs[(spec, 1)]
            with self.subTest(f"tampering: {spec}"):
                for index in range(len(mac)):
                    for mask in (0x01, 0x80):
                        self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=md["KeyId"],
                                               Message=message, Mac=flip(mac, index, mask),
                                               MacAlgorithm=algorithm)
                for index in range(len(message)):
                    self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=md["KeyId"],
                                           Message=flip(message, index), Mac=mac,
                                           MacAlgorithm=algorithm)
                self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=md["KeyId"],
                                       Message=message, Mac=mac[:-1], MacAlgorithm=algorithm)
                self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=md["KeyId"],
                                       Message=message, Mac=mac[:16], MacAlgorithm=algorithm)
                self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=md["KeyId"],
                                       Message=message, Mac=mac + b"\x00", MacAlgorithm=algorithm)
                self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=md["KeyId"],
                                       Message=message + b"\x00", Mac=mac, MacAlgorithm=algorithm)
        other = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        self.assertClientError(BAD_MAC, kms.verify_mac, KeyId=other["KeyId"], Message=messages[1],
                               Mac=macs[("HMAC_256", 1)], MacAlgorithm="HMAC_SHA_256")

        # A crash (SIGKILL) and another start: still the same keys.
        server.kill()
        server.start()
        check(server.client(), "after SIGKILL and restart")
        server.stop()


# --------------------------------------------------------------------------------------
# Private keys and secrets at rest and in the logs
# --------------------------------------------------------------------------------------

# The head of a cleartext private key in DER: PKCS#8 PrivateKeyInfo (version 0, then the
# AlgorithmIdentifier of RSA, EC or Ed25519), PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey; and PEM.
CLEAR_PRIVATE_KEY_RE = re.compile(
    rb"\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
    rb"|\x02\x01\x00\x30[\x10\x13]\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
    rb"|\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70"
    rb"|\x30\x82..\x02\x01\x00\x02\x82\x01"
    rb"|\x30[\x74\x77\x81]\x81?.?\x02\x01\x01\x04[\x20\x30\x42]"
    rb"|-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----", re.S)
# The server's own keys (the soft keystore's root key, the audit log's signing key) are
# private keys at rest by design.
SERVER_OWN_KEY_FILES = {"root.key", "audit-signing.key"}


def secret_forms(secret: bytes) -> list[bytes]:
    """The ways a secret could be written: raw, base64 (padded or not, or its first PEM
    line), hex."""
    enc = base64.b64encode(secret)
    return [secret, enc, enc.rstrip(b"="), base64.b64encode(secret[:48]),
            base64.urlsafe_b64encode(secret).rstrip(b"="), secret.hex().encode(),
            secret.hex().upper().encode()]


class SecretsAtRestTest(AsymmetricCase):
    class_server = False

    def test_no_private_key_or_shared_secret_in_the_data_directory_or_logs(self):
        server = self.start_server(name="asymmetric-at-rest")
        kms = server.client()
        made = {}
        for spec, usage, algorithm in [
                ("RSA_2048", "SIGN_VERIFY", "RSASSA_PSS_SHA_256"),
                ("RSA_2048", "ENCRYPT_DECRYPT", None), ("ECC_NIST_P256", "SIGN_VERIFY", "ECDSA_SHA_256"),
                ("ECC_NIST_P384", "SIGN_VERIFY", "ECDSA_SHA_384"),
                ("ECC_NIST_P521", "KEY_AGREEMENT", None),
                ("ECC_SECG_P256K1", "SIGN_VERIFY", "ECDSA_SHA_256"),
                ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "ED25519_SHA_512"),
                ("SM2", "SIGN_VERIFY", "SM2DSA"), ("HMAC_256", "GENERATE_VERIFY_MAC", None)]:
            md = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
            made[(spec, usage)] = md
            if algorithm:
                kms.sign(KeyId=md["KeyId"], Message=b"at rest", SigningAlgorithm=algorithm)
        secrets = []
        wrapping = kms.create_key()["KeyMetadata"]
        for spec in ("RSA_2048", "ECC_NIST_P256", "ECC_NIST_EDWARDS25519", "SM2"):
            pair = kms.generate_data_key_pair(KeyId=wrapping["KeyId"], KeyPairSpec=spec)
            # The pattern recognises a private key when it sees one.
            self.assertRegex(pair["PrivateKeyPlaintext"], CLEAR_PRIVATE_KEY_RE, spec)
            secrets.append(pair["PrivateKeyPlaintext"])
        ecdh = made[("ECC_NIST_P521", "KEY_AGREEMENT")]
        mine = independent([{"op": "ecdh", "peer_public_key": b64(
            kms.get_public_key(KeyId=ecdh["KeyId"])["PublicKey"])}])[0]
        secrets.append(kms.derive_shared_secret(
            KeyId=ecdh["KeyId"], KeyAgreementAlgorithm="ECDH",
            PublicKey=unb64(mine["public_key"]))["SharedSecret"])
        self.assertEqual(unb64(mine["shared_secret"]), secrets[-1])
        server.stop()

        files = [server.log_path] + [os.path.join(d, f) for d, _, names in os.walk(server.data_dir)
                                     for f in names]
        problems = []
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            if os.path.basename(path) not in SERVER_OWN_KEY_FILES:
                m = CLEAR_PRIVATE_KEY_RE.search(data)
                if m:
                    problems.append(f"{path}: a cleartext private key at offset {m.start()}: "
                                    f"{data[m.start():m.start() + 40]!r}")
            for i, secret in enumerate(secrets):
                for form in secret_forms(secret):
                    if form in data:
                        problems.append(f"{path}: secret #{i} appears as {form[:32]!r}...")
                        break
        self.assertEqual([], problems, "\n".join(problems))


# --------------------------------------------------------------------------------------
# 6. Every wrong combination
# --------------------------------------------------------------------------------------

class WrongCombinationsTest(AsymmetricCase):
    server_name = "asymmetric-errors"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        k = cls.create_keys([("SYMMETRIC_DEFAULT", None), ("RSA_2048", "ENCRYPT_DECRYPT"),
                             ("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                             ("ECC_NIST_P256", "KEY_AGREEMENT"), ("ECC_NIST_P384", "SIGN_VERIFY"),
                             ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"), ("SM2", "SIGN_VERIFY"),
                             ("ECC_SECG_P256K1", "SIGN_VERIFY"),
                             ("HMAC_256", "GENERATE_VERIFY_MAC"),
                             ("HMAC_384", "GENERATE_VERIFY_MAC")])
        cls.sym = k[("SYMMETRIC_DEFAULT", None)]["KeyId"]
        cls.rsa_enc = k[("RSA_2048", "ENCRYPT_DECRYPT")]["KeyId"]
        cls.rsa_sign = k[("RSA_2048", "SIGN_VERIFY")]["KeyId"]
        cls.p256 = k[("ECC_NIST_P256", "SIGN_VERIFY")]["KeyId"]
        cls.p256_ka = k[("ECC_NIST_P256", "KEY_AGREEMENT")]["KeyId"]
        cls.p384 = k[("ECC_NIST_P384", "SIGN_VERIFY")]["KeyId"]
        cls.ed = k[("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")]["KeyId"]
        cls.sm2 = k[("SM2", "SIGN_VERIFY")]["KeyId"]
        cls.k1 = k[("ECC_SECG_P256K1", "SIGN_VERIFY")]["KeyId"]
        cls.hmac256 = k[("HMAC_256", "GENERATE_VERIFY_MAC")]["KeyId"]
        cls.hmac384 = k[("HMAC_384", "GENERATE_VERIFY_MAC")]["KeyId"]

    def test_sign_and_verify_with_a_key_that_does_not_sign(self):
        for label, key_id, algorithm in [("symmetric", self.sym, "ECDSA_SHA_256"),
                                         ("RSA ENCRYPT_DECRYPT", self.rsa_enc,
                                          "RSASSA_PSS_SHA_256"),
                                         ("ECC KEY_AGREEMENT", self.p256_ka, "ECDSA_SHA_256"),
                                         ("HMAC", self.hmac256, "ECDSA_SHA_256")]:
            with self.subTest(label):
                self.assertClientError(USAGE, self.kms.sign, KeyId=key_id, Message=b"m",
                                       SigningAlgorithm=algorithm)
                self.assertClientError(USAGE, self.kms.verify, KeyId=key_id, Message=b"m",
                                       Signature=b"\x01" * 64, SigningAlgorithm=algorithm)

    def test_a_signing_algorithm_of_another_spec(self):
        cases = [(self.p256, "ECDSA_SHA_384"), (self.p256, "ECDSA_SHA_512"),
                 (self.p256, "RSASSA_PSS_SHA_256"), (self.p256, "ED25519_SHA_512"),
                 (self.p256, "SM2DSA"), (self.p384, "ECDSA_SHA_256"),
                 (self.k1, "ECDSA_SHA_384"), (self.rsa_sign, "ECDSA_SHA_256"),
                 (self.rsa_sign, "ED25519_SHA_512"), (self.rsa_sign, "SM2DSA"),
                 (self.ed, "ECDSA_SHA_256"), (self.ed, "RSASSA_PKCS1_V1_5_SHA_256"),
                 (self.sm2, "ECDSA_SHA_256"), (self.sm2, "ED25519_SHA_512")]
        for key_id, algorithm in cases:
            with self.subTest(f"{key_id} {algorithm}"):
                self.assertClientError(USAGE, self.kms.sign, KeyId=key_id, Message=b"m",
                                       SigningAlgorithm=algorithm)
                self.assertClientError(USAGE, self.kms.verify, KeyId=key_id, Message=b"m",
                                       Signature=b"\x01" * 64, SigningAlgorithm=algorithm)

    def test_encrypt_with_keys_that_do_not_encrypt(self):
        for label, key_id, algorithm in [("RSA SIGN_VERIFY", self.rsa_sign, "RSAES_OAEP_SHA_256"),
                                         ("RSA SIGN_VERIFY, no algorithm", self.rsa_sign, None),
                                         ("ECC SIGN_VERIFY", self.p256, None),
                                         ("ECC KEY_AGREEMENT", self.p256_ka, None),
                                         ("Ed25519", self.ed, None), ("HMAC", self.hmac256, None)]:
            with self.subTest(label):
                kw = {"EncryptionAlgorithm": algorithm} if algorithm else {}
                self.assertClientError(USAGE, self.kms.encrypt, KeyId=key_id, Plaintext=b"p", **kw)
                self.assertClientError(USAGE, self.kms.generate_data_key, KeyId=key_id,
                                       KeySpec="AES_256")

    def test_decrypt_naming_a_key_that_does_not_decrypt(self):
        # A KeyId whose usage is not ENCRYPT_DECRYPT, with an RSA-OAEP algorithm named: AWS
        # refuses the key's usage (InvalidKeyUsageException) before looking at the
        # ciphertext, as Encrypt does for the same key.
        ciphertext = os.urandom(256)
        for label, key_id in [("RSA SIGN_VERIFY", self.rsa_sign), ("ECC SIGN_VERIFY", self.p256),
                              ("HMAC", self.hmac256)]:
            with self.subTest(label):
                self.assertClientError(USAGE, self.kms.decrypt, KeyId=key_id,
                                       CiphertextBlob=ciphertext,
                                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")
                self.assertClientError(USAGE, self.kms.re_encrypt, CiphertextBlob=ciphertext,
                                       SourceKeyId=key_id,
                                       SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                                       DestinationKeyId=self.sym)

    def test_key_material_ids_are_for_symmetric_encryption_keys_only(self):
        # AWS: KeyMetadata.CurrentKeyMaterialId "is present for symmetric encryption keys";
        # Decrypt's KeyMaterialId and ReEncrypt's Source/DestinationKeyMaterialId "only when
        # the operation uses a symmetric encryption KMS key".
        sym = self.kms.describe_key(KeyId=self.sym)["KeyMetadata"]
        self.assertRegex(sym.get("CurrentKeyMaterialId", ""), r"^[0-9a-f]{64}$")
        for label, key_id in [("RSA ENCRYPT_DECRYPT", self.rsa_enc), ("RSA SIGN_VERIFY", self.rsa_sign),
                              ("ECC", self.p256), ("ECC KEY_AGREEMENT", self.p256_ka),
                              ("Ed25519", self.ed), ("HMAC", self.hmac256)]:
            with self.subTest(f"DescribeKey {label}"):
                self.assertNotIn("CurrentKeyMaterialId",
                                 self.kms.describe_key(KeyId=key_id)["KeyMetadata"])
        created = self.kms.create_key(KeySpec="HMAC_512",
                                      KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        with self.subTest("CreateKey HMAC_512"):
            self.assertNotIn("CurrentKeyMaterialId", created)
        blob = self.kms.encrypt(KeyId=self.rsa_enc, Plaintext=b"material",
                                EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
        with self.subTest("Decrypt with an RSA key"):
            dec = self.kms.decrypt(KeyId=self.rsa_enc, CiphertextBlob=blob,
                                   EncryptionAlgorithm="RSAES_OAEP_SHA_256")
            self.assertEqual(b"material", dec["Plaintext"])
            self.assertNotIn("KeyMaterialId", dec)
        out = self.kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=self.rsa_enc,
                                  SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
                                  DestinationKeyId=self.sym)
        blob = out["CiphertextBlob"]
        with self.subTest("ReEncrypt from an RSA key to a symmetric key"):
            self.assertNotIn("SourceKeyMaterialId", out)
            self.assertEqual(sym["CurrentKeyMaterialId"], out.get("DestinationKeyMaterialId"))
        with self.subTest("ReEncrypt from a symmetric key to an RSA key"):
            out = self.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=self.rsa_enc,
                                      DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
            self.assertEqual(sym["CurrentKeyMaterialId"], out.get("SourceKeyMaterialId"))
            self.assertNotIn("DestinationKeyMaterialId", out)

    def test_messages_signatures_and_macs_outside_the_model_are_validation_errors(self):
        cases = [
            ("empty message", self.kms.sign,
             dict(KeyId=self.p256, Message=b"", SigningAlgorithm="ECDSA_SHA_256")),
            ("unknown MessageType", self.kms.sign,
             dict(KeyId=self.p256, Message=b"m", MessageType="HASHED",
                  SigningAlgorithm="ECDSA_SHA_256")),
            ("unknown SigningAlgorithm", self.kms.sign,
             dict(KeyId=self.p256, Message=b"m", SigningAlgorithm="ECDSA_SHA_1")),
            ("empty signature", self.kms.verify,
             dict(KeyId=self.p256, Message=b"m", Signature=b"", SigningAlgorithm="ECDSA_SHA_256")),
            ("signature over 6144 bytes", self.kms.verify,
             dict(KeyId=self.rsa_sign, Message=b"m", Signature=b"\x01" * 6145,
                  SigningAlgorithm="RSASSA_PSS_SHA_256")),
            ("MAC message over 4096 bytes", self.kms.generate_mac,
             dict(KeyId=self.hmac256, Message=b"m" * 4097, MacAlgorithm="HMAC_SHA_256")),
            ("empty MAC message", self.kms.generate_mac,
             dict(KeyId=self.hmac256, Message=b"", MacAlgorithm="HMAC_SHA_256")),
            ("empty MAC", self.kms.verify_mac,
             dict(KeyId=self.hmac256, Message=b"m", Mac=b"", MacAlgorithm="HMAC_SHA_256")),
            ("unknown MacAlgorithm", self.kms.generate_mac,
             dict(KeyId=self.hmac256, Message=b"m", MacAlgorithm="HMAC_SHA_1")),
            ("unknown KeyPairSpec", self.kms.generate_data_key_pair,
             dict(KeyId=self.sym, KeyPairSpec="ECC_NIST_P224")),
            ("unknown KeyAgreementAlgorithm", self.kms.derive_shared_secret,
             dict(KeyId=self.p256_ka, KeyAgreementAlgorithm="ECMQV",
                  PublicKey=self.kms.get_public_key(KeyId=self.p256_ka)["PublicKey"])),
        ]
        for label, fn, kw in cases:
            with self.subTest(label):
                self.assertClientError(VALIDATION, fn, **kw)
        # MessageType EXTERNAL_MU belongs to ML-DSA keys only (Scytale's answer; AWS does not
        # document which error it gives).
        self.assertClientError(USAGE, self.kms.sign, KeyId=self.p256, Message=os.urandom(64),
                               MessageType="EXTERNAL_MU", SigningAlgorithm="ECDSA_SHA_256")

    def test_get_public_key_of_symmetric_and_hmac_keys(self):
        for key_id in (self.sym, self.hmac256, self.hmac384):
            self.assertClientError(UNSUPPORTED, self.kms.get_public_key, KeyId=key_id)

    def test_mac_operations_with_the_wrong_key_or_algorithm(self):
        for label, key_id in [("signing", self.p256), ("RSA signing", self.rsa_sign),
                              ("symmetric", self.sym), ("RSA encryption", self.rsa_enc)]:
            with self.subTest(label):
                self.assertClientError(USAGE, self.kms.generate_mac, KeyId=key_id, Message=b"m",
                                       MacAlgorithm="HMAC_SHA_256")
                self.assertClientError(USAGE, self.kms.verify_mac, KeyId=key_id, Message=b"m",
                                       Mac=b"\x00" * 32, MacAlgorithm="HMAC_SHA_256")
        self.assertClientError(USAGE, self.kms.generate_mac, KeyId=self.hmac256, Message=b"m",
                               MacAlgorithm="HMAC_SHA_384")
        self.assertClientError(USAGE, self.kms.verify_mac, KeyId=self.hmac384, Message=b"m",
                               Mac=b"\x00" * 48, MacAlgorithm="HMAC_SHA_256")
        # HMAC keys neither sign nor encrypt.
        self.assertClientError(USAGE, self.kms.sign, KeyId=self.hmac384, Message=b"m",
                               SigningAlgorithm="RSASSA_PSS_SHA_384")

    def test_create_key_spec_and_usage_mismatches(self):
        mismatches = [("ECC_NIST_P256", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "GENERATE_VERIFY_MAC"),
                      ("ECC_NIST_P521", "ENCRYPT_DECRYPT"),
                      ("ECC_SECG_P256K1", "KEY_AGREEMENT"), ("ECC_SECG_P256K1", "ENCRYPT_DECRYPT"),
                      ("ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT"),
                      ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"),
                      ("RSA_2048", "KEY_AGREEMENT"), ("RSA_4096", "GENERATE_VERIFY_MAC"),
                      ("HMAC_256", "SIGN_VERIFY"), ("HMAC_224", "ENCRYPT_DECRYPT"),
                      ("HMAC_512", "KEY_AGREEMENT"),
                      ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
                      ("SYMMETRIC_DEFAULT", "GENERATE_VERIFY_MAC"),
                      ("SYMMETRIC_DEFAULT", "KEY_AGREEMENT"),
                      # No KeyUsage means ENCRYPT_DECRYPT, which these specs do not have.
                      ("ECC_NIST_P256", None), ("ECC_NIST_P384", None), ("ECC_SECG_P256K1", None),
                      ("ECC_NIST_EDWARDS25519", None), ("HMAC_256", None)]
        before = len(harness.list_all_keys(self.kms))
        for spec, usage in mismatches:
            with self.subTest(f"{spec} {usage}"):
                kw = {"KeySpec": spec}
                if usage:
                    kw["KeyUsage"] = usage
                self.assertClientError(VALIDATION, self.kms.create_key, **kw)
        # ...and no key was left behind by a refused CreateKey.
        self.assertEqual(before, len(harness.list_all_keys(self.kms)))

    def test_specs_this_server_does_not_offer(self):
        for spec, usage in [("ML_DSA_44", "SIGN_VERIFY"), ("ML_DSA_65", "SIGN_VERIFY"),
                            ("ML_DSA_87", "SIGN_VERIFY"), ("SM2", "ENCRYPT_DECRYPT"),
                            ("SM2", "KEY_AGREEMENT")]:
            with self.subTest(f"{spec} {usage}"):
                self.assertClientError(UNSUPPORTED, self.kms.create_key, KeySpec=spec,
                                       KeyUsage=usage)

    def test_rotation_is_for_symmetric_keys_only(self):
        for key_id in (self.rsa_enc, self.p256, self.hmac256, self.ed):
            with self.subTest(key_id):
                self.assertClientError(UNSUPPORTED, self.kms.enable_key_rotation, KeyId=key_id)
                self.assertClientError(UNSUPPORTED, self.kms.rotate_key_on_demand, KeyId=key_id)

    def test_aliases_dry_run_and_key_state(self):
        alias = f"alias/e2e-signer-{uuid.uuid4().hex[:8]}"
        self.kms.create_alias(AliasName=alias, TargetKeyId=self.p256)
        r = self.kms.sign(KeyId=alias, Message=b"by alias", SigningAlgorithm="ECDSA_SHA_256")
        self.assertEqual(key_arn(self.p256), r["KeyId"])
        self.assertVerifies(alias, "ECDSA_SHA_256", b"by alias", r["Signature"])
        self.assertEqual(self.kms.get_public_key(KeyId=self.p256)["PublicKey"],
                         self.kms.get_public_key(KeyId=alias)["PublicKey"])
        self.assertClientError("DryRunOperationException", self.kms.sign, KeyId=self.p256,
                               Message=b"m", SigningAlgorithm="ECDSA_SHA_256", DryRun=True)
        self.assertClientError(USAGE, self.kms.sign, KeyId=self.p256, Message=b"m",
                               SigningAlgorithm="ECDSA_SHA_384", DryRun=True)
        self.assertClientError("DryRunOperationException", self.kms.generate_mac,
                               KeyId=self.hmac256, Message=b"m", MacAlgorithm="HMAC_SHA_256",
                               DryRun=True)
        # A disabled key neither signs nor verifies nor MACs; enabled again, it does.
        key = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        sig = self.kms.sign(KeyId=key["KeyId"], Message=b"m",
                            SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        mac_key = self.kms.create_key(KeySpec="HMAC_224",
                                      KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        mac = self.kms.generate_mac(KeyId=mac_key["KeyId"], Message=b"m",
                                    MacAlgorithm="HMAC_SHA_224")["Mac"]
        for k in (key, mac_key):
            self.kms.disable_key(KeyId=k["KeyId"])
        self.assertClientError("DisabledException", self.kms.sign, KeyId=key["KeyId"],
                               Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.assertClientError("DisabledException", self.kms.verify, KeyId=key["KeyId"],
                               Message=b"m", Signature=sig, SigningAlgorithm="ECDSA_SHA_256")
        self.assertClientError("DisabledException", self.kms.get_public_key, KeyId=key["KeyId"])
        self.assertClientError("DisabledException", self.kms.verify_mac, KeyId=mac_key["KeyId"],
                               Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_224")
        for k in (key, mac_key):
            self.kms.enable_key(KeyId=k["KeyId"])
        self.assertVerifies(key["KeyId"], "ECDSA_SHA_256", b"m", sig)
        self.assertTrue(self.kms.verify_mac(KeyId=mac_key["KeyId"], Message=b"m", Mac=mac,
                                            MacAlgorithm="HMAC_SHA_224")["MacValid"])
        # Pending deletion: KMSInvalidStateException.
        self.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        self.assertClientError("KMSInvalidStateException", self.kms.sign, KeyId=key["KeyId"],
                               Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
        self.assertClientError("KMSInvalidStateException", self.kms.get_public_key,
                               KeyId=key["KeyId"])


class PolicyConditionsTest(AsymmetricCase):
    """The condition keys of the new operations, in key policies (explicit Deny)."""

    server_name = "asymmetric-policy"
    ROOT = f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"

    def put_policy(self, key_id: str, action: str, condition: dict) -> None:
        statements = [
            {"Effect": "Allow", "Principal": {"AWS": self.ROOT}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": self.ROOT}, "Action": action,
             "Resource": "*", "Condition": condition}]
        self.kms.put_key_policy(KeyId=key_id, PolicyName="default",
                                Policy=json.dumps({"Version": "2012-10-17",
                                                   "Statement": statements}))

    def denied(self, fn, **kw):
        return self.assertClientError("AccessDeniedException", fn, **kw)

    def test_signing_algorithm_and_message_type(self):
        key = self.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        self.put_policy(key, "kms:Sign", {"StringEquals": {
            "kms:SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"}})
        sig = self.kms.sign(KeyId=key, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")[
            "Signature"]
        self.denied(self.kms.sign, KeyId=key, Message=b"m",
                    SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
        self.put_policy(key, ["kms:Sign", "kms:Verify"],
                        {"StringEquals": {"kms:MessageType": "DIGEST"}})
        digest = hashlib.sha256(b"m").digest()
        self.denied(self.kms.sign, KeyId=key, Message=digest, MessageType="DIGEST",
                    SigningAlgorithm="RSASSA_PSS_SHA_256")
        self.denied(self.kms.verify, KeyId=key, Message=digest, MessageType="DIGEST",
                    Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256")
        self.assertVerifies(key, "RSASSA_PSS_SHA_256", b"m", sig)

    def test_mac_key_agreement_encryption_algorithm_and_data_key_pair_spec(self):
        mac = self.kms.create_key(KeySpec="HMAC_256",
                                  KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        self.put_policy(mac, "kms:GenerateMac",
                        {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}})
        self.denied(self.kms.generate_mac, KeyId=mac, Message=b"m", MacAlgorithm="HMAC_SHA_256")
        self.assertClientError(BAD_MAC, self.kms.verify_mac, KeyId=mac, Message=b"m",
                               Mac=b"\x00" * 32, MacAlgorithm="HMAC_SHA_256")

        ka = self.kms.create_key(KeySpec="ECC_NIST_P256",
                                 KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
        public = self.kms.get_public_key(KeyId=ka)["PublicKey"]
        self.put_policy(ka, "kms:DeriveSharedSecret",
                        {"StringEquals": {"kms:KeyAgreementAlgorithm": "ECDH"}})
        self.denied(self.kms.derive_shared_secret, KeyId=ka, KeyAgreementAlgorithm="ECDH",
                    PublicKey=public)

        rsa = self.kms.create_key(KeySpec="RSA_2048",
                                  KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        self.put_policy(rsa, "kms:Decrypt",
                        {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}})
        for algorithm in OAEP:
            blob = self.kms.encrypt(KeyId=rsa, Plaintext=b"p",
                                    EncryptionAlgorithm=algorithm)["CiphertextBlob"]
            if algorithm == "RSAES_OAEP_SHA_1":
                self.denied(self.kms.decrypt, KeyId=rsa, CiphertextBlob=blob,
                            EncryptionAlgorithm=algorithm)
            else:
                self.assertEqual(b"p", self.kms.decrypt(KeyId=rsa, CiphertextBlob=blob,
                                                        EncryptionAlgorithm=algorithm)["Plaintext"])

        wrapping = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.put_policy(wrapping, "kms:GenerateDataKeyPair*",
                        {"StringLike": {"kms:DataKeyPairSpec": "RSA_*"}})
        self.denied(self.kms.generate_data_key_pair, KeyId=wrapping, KeyPairSpec="RSA_2048")
        self.denied(self.kms.generate_data_key_pair_without_plaintext, KeyId=wrapping,
                    KeyPairSpec="RSA_3072")
        self.kms.generate_data_key_pair(KeyId=wrapping, KeyPairSpec="ECC_NIST_P256")


# --------------------------------------------------------------------------------------
# 7. The AWS CLI v1 and v2
# --------------------------------------------------------------------------------------

class CliAsymmetricMixin(AwsCliMixin):
    ok_wants_object = True
    has_derive_shared_secret = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.symmetric = cls.kms.create_key(Description="cli wrapping key")["KeyMetadata"]

    def file(self, data: bytes) -> str:
        return "fileb://" + self.openssl.write(data)

    def test_create_key_sign_verify_and_get_public_key(self):
        # (CLI v2 2.9's model predates ECC_NIST_EDWARDS25519, but the CLI passes enum values
        # through unchecked, so it signs with Ed25519 keys all the same.)
        cases = [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_512"),
                 ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")]
        # Independent CLI calls run side by side: each CLI start costs most of a second.
        created = parallel(lambda c: self.ok("create-key", "--key-spec", c[0], "--key-usage",
                                             "SIGN_VERIFY")["KeyMetadata"], cases)
        message = b"signed with the AWS CLI \x00\xff " + os.urandom(16)

        def sign_and_fetch(args):
            (spec, algorithm), md = args
            signed = self.ok("sign", "--key-id", md["KeyId"], "--message", self.file(message),
                             "--message-type", "RAW", "--signing-algorithm", algorithm)
            public = self.ok("get-public-key", "--key-id", md["Arn"])
            return signed, public

        outputs = parallel(sign_and_fetch, list(zip(cases, created)))
        checks = []
        for ((spec, algorithm), md), (signed, public) in zip(zip(cases, created), outputs):
            with self.subTest(spec):
                self.assertEqual(spec, md["KeySpec"])
                self.assertEqual("SIGN_VERIFY", md["KeyUsage"])
                self.assertIn(algorithm, md["SigningAlgorithms"])
                self.assertEqual(md["Arn"], signed["KeyId"])
                self.assertEqual(algorithm, signed["SigningAlgorithm"])
                signature = unb64(signed["Signature"])   # base64 in the CLI's JSON
                self.assertEqual(spec, public["KeySpec"])
                self.assertEqual("SIGN_VERIFY", public["KeyUsage"])
                der = unb64(public["PublicKey"])
                self.assertEqual(self.kms.get_public_key(KeyId=md["KeyId"])["PublicKey"], der)
                pem = self.openssl.public_pem(der)
                self.assertTrue(self.openssl.verify(pem, algorithm, "RAW", message, signature))
                checks.append((md, algorithm, signature))
        # verify with the CLI: the signature file, and one with a changed byte.
        md, algorithm, signature = checks[0]
        good, bad = parallel(lambda sig: self.aws(
            "verify", "--key-id", md["KeyId"], "--message", self.file(message), "--message-type",
            "RAW", "--signature", self.file(sig), "--signing-algorithm", algorithm),
            [signature, flip(signature, 10)])
        self.assertEqual(0, good.returncode, str(good))
        self.assertTrue(good.json["SignatureValid"], str(good))
        self.assertEqual(md["Arn"], good.json["KeyId"])
        self.assertNotEqual(0, bad.returncode, str(bad))
        self.assertEqual(BAD_SIGNATURE, bad.error_code, str(bad))

    def test_sign_a_digest_and_verify_it_as_a_message(self):
        md = self.kms.create_key(KeySpec="RSA_3072", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        message = os.urandom(5000)   # longer than a RAW message may be
        digest = hashlib.sha384(message).digest()
        signed, short = parallel(lambda d: self.aws(
            "sign", "--key-id", md["KeyId"], "--message", self.file(d), "--message-type", "DIGEST",
            "--signing-algorithm", "RSASSA_PKCS1_V1_5_SHA_384"), [digest, digest[:32]])
        self.assertEqual(0, signed.returncode, str(signed))
        signature = unb64(signed.json["Signature"])
        pem = self.openssl.public_pem(self.kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
        self.assertTrue(self.openssl.verify(pem, "RSASSA_PKCS1_V1_5_SHA_384", "RAW", message,
                                            signature))
        self.assertEqual(VALIDATION, short.error_code, str(short))

    def test_generate_mac_and_verify_mac(self):
        md = self.ok("create-key", "--key-spec", "HMAC_384", "--key-usage",
                     "GENERATE_VERIFY_MAC")["KeyMetadata"]
        self.assertEqual(["HMAC_SHA_384"], md["MacAlgorithms"])
        message = b"MAC'd by the CLI " + os.urandom(8)
        out = self.ok("generate-mac", "--key-id", md["KeyId"], "--message", self.file(message),
                      "--mac-algorithm", "HMAC_SHA_384")
        mac = unb64(out["Mac"])
        self.assertEqual(48, len(mac))
        self.assertEqual(md["Arn"], out["KeyId"])
        self.assertEqual(mac, self.kms.generate_mac(KeyId=md["KeyId"], Message=message,
                                                    MacAlgorithm="HMAC_SHA_384")["Mac"])
        ok, bad = parallel(lambda m: self.aws("verify-mac", "--key-id", md["KeyId"], "--message",
                                              self.file(message), "--mac", self.file(m),
                                              "--mac-algorithm", "HMAC_SHA_384"),
                           [mac, flip(mac, 47)])
        self.assertEqual(0, ok.returncode, str(ok))
        self.assertTrue(ok.json["MacValid"], str(ok))
        self.assertNotEqual(0, bad.returncode, str(bad))
        self.assertEqual(BAD_MAC, bad.error_code, str(bad))

    def test_generate_data_key_pair_and_errors(self):
        out, no_plain, no_usage, no_public = parallel(lambda a: self.aws(*a), [
            ["generate-data-key-pair", "--key-id", self.symmetric["KeyId"], "--key-pair-spec",
             "ECC_NIST_P384", "--encryption-context", "app=cli"],
            ["generate-data-key-pair-without-plaintext", "--key-id", self.symmetric["Arn"],
             "--key-pair-spec", "RSA_2048"],
            ["create-key", "--key-spec", "ECC_NIST_P256"],
            ["get-public-key", "--key-id", self.symmetric["KeyId"]]])
        self.assertEqual(0, out.returncode, str(out))
        private = unb64(out.json["PrivateKeyPlaintext"])
        public = unb64(out.json["PublicKey"])
        self.assertEqual("ECC_NIST_P384", out.json["KeyPairSpec"])
        self.assertEqual(public, self.openssl.private_der_to_public_der(private))
        self.assertEqual(private, self.kms.decrypt(
            CiphertextBlob=unb64(out.json["PrivateKeyCiphertextBlob"]),
            EncryptionContext={"app": "cli"})["Plaintext"])
        self.assertEqual(0, no_plain.returncode, str(no_plain))
        self.assertNotIn("PrivateKeyPlaintext", no_plain.json)
        private = self.kms.decrypt(CiphertextBlob=unb64(no_plain.json["PrivateKeyCiphertextBlob"]))[
            "Plaintext"]
        self.assertEqual(unb64(no_plain.json["PublicKey"]),
                         self.openssl.private_der_to_public_der(private))
        self.assertEqual(VALIDATION, no_usage.error_code, str(no_usage))
        self.assertEqual(UNSUPPORTED, no_public.error_code, str(no_public))

    def test_derive_shared_secret(self):
        if not self.has_derive_shared_secret:
            self.skipTest(f"{self.cli} predates DeriveSharedSecret")
        md = self.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
        pem = self.openssl.public_pem(self.kms.get_public_key(KeyId=md["KeyId"])["PublicKey"])
        mine, secret = self.openssl.ecdh("ECC_NIST_P256", pem)
        out = self.ok("derive-shared-secret", "--key-id", md["KeyId"], "--key-agreement-algorithm",
                      "ECDH", "--public-key", self.file(mine))
        self.assertEqual(secret, unb64(out["SharedSecret"]))
        self.assertEqual(md["Arn"], out["KeyId"])


class AsymmetricCliV1Test(CliAsymmetricMixin, AsymmetricCase):
    server_name = "asymmetric-cli-v1"
    expect_major = "1"


class AsymmetricCliV2Test(CliAsymmetricMixin, AsymmetricCase):
    server_name = "asymmetric-cli-v2"
    expect_major = "2"
    has_derive_shared_secret = False   # CLI v2 2.9 has no derive-shared-secret command


if __name__ == "__main__":
    unittest.main()
