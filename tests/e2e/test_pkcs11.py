"""The root of trust in a PKCS#11 token (SoftHSM2): `scytale init --keystore pkcs11`, serving with
`--keystore pkcs11`, envelope operations with boto3, restarts, and clear start failures.

The token lives in a temporary directory (SOFTHSM2_CONF points at our own softhsm2.conf); the
system's token store is never touched. Without SoftHSM2 and OpenSC these tests fail (they do not
skip): run scripts/install-deps.sh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unittest
from typing import Mapping, Optional

from harness import (SCYTALE_BIN, KEEP, ScytaleServer, ScytaleTestCase, ServerStartError,
                     init_softhsm_token, softhsm_token_dir)

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "ScytaleE2E"
PIN = "4711-e2e"
SO_PIN = "5678"

_tmp: Optional[str] = None
_pin_file: Optional[str] = None


def setUpModule() -> None:
    global _tmp, _pin_file
    missing = [p for p in (MODULE,) if not os.path.exists(p)]
    missing += [t for t in ("softhsm2-util", "pkcs11-tool") if shutil.which(t) is None]
    if missing:
        raise AssertionError(f"SoftHSM2/OpenSC missing ({', '.join(missing)}): run "
                             "scripts/install-deps.sh")
    # Every process of this module (softhsm2-util, pkcs11-tool, scytale) sees only our token.
    _tmp = softhsm_token_dir("scytale-e2e-pkcs11-")
    os.environ.pop("SCYTALE_PKCS11_PIN", None)
    init_softhsm_token(TOKEN, PIN, SO_PIN)
    _pin_file = os.path.join(_tmp, "pin")
    fd = os.open(_pin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (PIN + "\n").encode())
    os.close(fd)


def tearDownModule() -> None:
    if _tmp and not KEEP:
        shutil.rmtree(_tmp, ignore_errors=True)


def keystore_args(key_label: str, pin_file: Optional[str] = None) -> list[str]:
    args = ["--keystore", "pkcs11", "--pkcs11-module", MODULE, "--pkcs11-token", TOKEN,
            "--pkcs11-key-label", key_label]
    if pin_file:
        args += ["--pkcs11-pin-file", pin_file]
    return args


def run_scytale(args: list[str], env: Optional[Mapping[str, str]] = None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([str(SCYTALE_BIN), *args], capture_output=True, text=True, env=full_env,
                          timeout=60)


class EnvServer(ScytaleServer):
    """A ScytaleServer whose process gets extra environment variables (the PIN)."""

    def __init__(self, *, env: Optional[Mapping[str, str]] = None, **kwargs):
        super().__init__(**kwargs)
        self.extra_env = dict(env or {})

    def start(self, *args, **kwargs):
        saved = {k: os.environ.get(k) for k in self.extra_env}
        os.environ.update(self.extra_env)
        try:
            return super().start(*args, **kwargs)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class Pkcs11KeystoreTest(ScytaleTestCase):
    def start_env_server(self, env=None, start=True, **kwargs) -> EnvServer:
        s = EnvServer(env=env, **kwargs)
        self._test_servers.append(s)
        self.addCleanup(s.cleanup)
        if start:
            s.start()
        return s

    def init_root(self, label: str) -> None:
        done = run_scytale(["init", *keystore_args(label, _pin_file)])
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertIn(f"root key created in the token: pkcs11:{TOKEN}/{label}", done.stdout)

    def test_init_creates_the_root_once_and_it_cannot_be_read(self):
        self.init_root("root-once")
        again = run_scytale(["init", *keystore_args("root-once")], env={"SCYTALE_PKCS11_PIN": PIN})
        self.assertEqual(1, again.returncode)
        self.assertIn("already holds a key labelled 'root-once'", again.stderr)
        tool = ["pkcs11-tool", "--module", MODULE, "--token-label", TOKEN, "--login", "--pin", PIN]
        listed = subprocess.run(tool + ["--list-objects", "--type", "secrkey"],
                                capture_output=True, text=True)
        self.assertEqual(0, listed.returncode, listed.stderr)
        self.assertIn("root-once", listed.stdout)
        out = os.path.join(_tmp, "stolen")
        read = subprocess.run(tool + ["--read-object", "--type", "secrkey", "--label", "root-once",
                                      "--output-file", out], capture_output=True, text=True)
        self.assertNotEqual(0, read.returncode, read.stdout + read.stderr)
        self.assertFalse(os.path.exists(out) and os.path.getsize(out) > 0)

    def test_envelope_operations_survive_a_restart(self):
        self.init_root("root-envelope")
        server = self.start_env_server(name="pkcs11-envelope",
                                       args=keystore_args("root-envelope", _pin_file))
        self.assertTrue(any(f"keystore pkcs11:{TOKEN}/root-envelope" in line
                            for line in server.stdout_lines), server.stdout_lines)
        self.assertFalse(os.path.exists(os.path.join(server.data_dir, "root.key")))
        kms = server.client()
        key_a = kms.create_key(Description="in the HSM's care")["KeyMetadata"]["KeyId"]
        key_b = kms.create_key(Description="re-encrypt target")["KeyMetadata"]["KeyId"]
        context = {"purpose": "e2e", "tenant": "t1"}

        enc = kms.encrypt(KeyId=key_a, Plaintext=b"attack at dawn", EncryptionContext=context)
        dk = kms.generate_data_key(KeyId=key_a, KeySpec="AES_256", EncryptionContext=context)
        self.assertEqual(32, len(dk["Plaintext"]))
        dk_np = kms.generate_data_key_without_plaintext(KeyId=key_a, NumberOfBytes=24)
        re_enc = kms.re_encrypt(CiphertextBlob=enc["CiphertextBlob"], SourceEncryptionContext=context,
                                DestinationKeyId=key_b,
                                DestinationEncryptionContext={"moved": "yes"})
        self.assertEqual(key_b, re_enc["KeyId"].split("/")[-1])

        def check_all(kms) -> None:
            got = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=context)
            self.assertEqual(b"attack at dawn", got["Plaintext"])
            self.assertEqual(key_a, got["KeyId"].split("/")[-1])
            got = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=context)
            self.assertEqual(dk["Plaintext"], got["Plaintext"])
            got = kms.decrypt(CiphertextBlob=dk_np["CiphertextBlob"])
            self.assertEqual(24, len(got["Plaintext"]))
            got = kms.decrypt(CiphertextBlob=re_enc["CiphertextBlob"],
                              EncryptionContext={"moved": "yes"})
            self.assertEqual(b"attack at dawn", got["Plaintext"])
            self.assertClientError("InvalidCiphertextException", kms.decrypt,
                                   CiphertextBlob=enc["CiphertextBlob"],
                                   EncryptionContext={"purpose": "other"})

        check_all(kms)
        # Restart: the token is opened again and old ciphertexts decrypt (the backing keys were
        # wrapped inside the token, so they unwrap only there).
        server.stop()
        server.start()
        check_all(server.client())
        # Rotation writes new backing material, wrapped by the token root.
        kms = server.client()
        kms.rotate_key_on_demand(KeyId=key_a)
        enc2 = kms.encrypt(KeyId=key_a, Plaintext=b"after rotation")
        server.stop()
        # The PIN may come from the environment instead of the file.
        env_server = self.start_env_server(name="pkcs11-envelope-env", data_dir=server.data_dir,
                                           env={"SCYTALE_PKCS11_PIN": PIN},
                                           args=keystore_args("root-envelope"))
        kms = env_server.client()
        check_all(kms)
        self.assertEqual(b"after rotation",
                         kms.decrypt(CiphertextBlob=enc2["CiphertextBlob"])["Plaintext"])
        env_server.stop()

    def test_wrong_pin_fails_start_with_a_clear_message(self):
        self.init_root("root-wrong-pin")
        server = self.start_env_server(start=False, name="pkcs11-wrong-pin",
                                       env={"SCYTALE_PKCS11_PIN": "9999-not-it"},
                                       args=keystore_args("root-wrong-pin"))
        with self.assertRaises(ServerStartError) as caught:
            server.start()
        message = str(caught.exception)
        self.assertIn("exited with code 1", message)
        self.assertIn(f"wrong user PIN for the PKCS#11 token '{TOKEN}' (CKR_PIN_INCORRECT)", message)
        self.assertNotIn("9999-not-it", server.log_text())

    def test_start_fails_clearly_without_pin_key_or_token(self):
        self.init_root("root-misconfigured")
        cases = [
            ({}, keystore_args("root-misconfigured"), "set SCYTALE_PKCS11_PIN or give --pkcs11-pin-file"),
            ({"SCYTALE_PKCS11_PIN": PIN}, keystore_args("no-such-root"),
             "no secret key labelled 'no-such-root'"),
            ({"SCYTALE_PKCS11_PIN": PIN},
             ["--keystore", "pkcs11", "--pkcs11-module", MODULE, "--pkcs11-token", "NoToken",
              "--pkcs11-key-label", "root-misconfigured"],
             "no PKCS#11 token labelled 'NoToken'"),
            ({"SCYTALE_PKCS11_PIN": PIN},
             ["--keystore", "pkcs11", "--pkcs11-module", "/nonexistent/libp11.so",
              "--pkcs11-token", TOKEN, "--pkcs11-key-label", "root-misconfigured"],
             "cannot load the PKCS#11 module /nonexistent/libp11.so"),
        ]
        loose = os.path.join(_tmp, "loose-pin")
        with open(loose, "w") as f:
            f.write(PIN)
        os.chmod(loose, 0o644)
        cases.append(({}, keystore_args("root-misconfigured", loose), "chmod 600"))
        for env, args, expected in cases:
            with self.subTest(expected=expected):
                server = self.start_env_server(start=False, name="pkcs11-misconfigured", env=env,
                                               args=args)
                with self.assertRaises(ServerStartError) as caught:
                    server.start()
                self.assertIn(expected, str(caught.exception))
                self.assertNotIn(PIN, server.log_text())


if __name__ == "__main__":
    unittest.main()
