#!/usr/bin/python3
"""An independent verifier for Scytale's asymmetric operations, built on Python's
`cryptography` package (and, for SM2, which `cryptography` lacks, a small pure-Python SM2DSA
verifier). tests/e2e/test_asymmetric.py runs it with Debian's /usr/bin/python3
(python3-cryptography), because the python running the tests may not have the package.

Input: a JSON list of requests on stdin; output: a JSON list of results on stdout, one per
request, in order. Binary values are base64 in both directions. A request that fails gives
{"error": "..."} instead of stopping the batch.

Requests ("op"):
  verify      public_key (DER SPKI), algorithm (an AWS SigningAlgorithm), message_type
              (RAW|DIGEST), message, signature -> {"valid": bool}
  sign        private_key (PKCS#8 DER), algorithm, message_type, message -> {"signature"}
  oaep_encrypt public_key, algorithm (RSAES_OAEP_SHA_1|RSAES_OAEP_SHA_256), plaintext
              -> {"ciphertext"}
  ecdh        peer_public_key (DER SPKI) -> a fresh key pair on the peer's curve:
              {"public_key" (DER SPKI), "shared_secret"}
  public_of   private_key (PKCS#8 DER) -> {"public_key" (DER SPKI), "type", "bits"}
  digest      algorithm, message -> {"digest"} (for SM2DSA: SM3(Z_A || M) with the default
              distinguishing id, which needs public_key)
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import traceback

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

HASHES = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384,
          "SHA_512": hashes.SHA512}


def unb64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def hash_of(algorithm: str):
    for suffix, h in HASHES.items():
        if algorithm.endswith(suffix):
            return h()
    raise ValueError(f"no hash in {algorithm}")


# ---- SM2DSA (GB/T 32918.2), pure Python ------------------------------------------------

SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
SM2_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
SM2_DEFAULT_ID = b"1234567812345678"
# The DER prefix of an SM2 SubjectPublicKeyInfo: id-ecPublicKey with the SM2 curve's OID
# (1.2.156.10197.1.301), then an uncompressed point.
SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % SM2_P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + SM2_A) * pow(2 * y1, -1, SM2_P) % SM2_P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, SM2_P) % SM2_P
    x3 = (lam * lam - x1 - x2) % SM2_P
    return x3, (lam * (x1 - x3) - y1) % SM2_P


def _mul(k, point):
    out = None
    while k:
        if k & 1:
            out = _add(out, point)
        point = _add(point, point)
        k >>= 1
    return out


def sm2_point(spki: bytes):
    if not spki.startswith(SM2_SPKI_PREFIX) or len(spki) != len(SM2_SPKI_PREFIX) + 65 \
            or spki[len(SM2_SPKI_PREFIX)] != 4:
        raise ValueError("not an SM2 SubjectPublicKeyInfo with an uncompressed point")
    xy = spki[len(SM2_SPKI_PREFIX) + 1:]
    x, y = int.from_bytes(xy[:32], "big"), int.from_bytes(xy[32:], "big")
    if (y * y - x * x * x - SM2_A * x - SM2_B) % SM2_P != 0:
        raise ValueError("point not on the SM2 curve")
    return x, y


def sm2_digest(spki: bytes, message: bytes) -> bytes:
    """e = SM3(Z_A || M), Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    x, y = sm2_point(spki)
    z = sm3(len(SM2_DEFAULT_ID * 8).to_bytes(2, "big") + SM2_DEFAULT_ID
            + b"".join(v.to_bytes(32, "big") for v in (SM2_A, SM2_B, SM2_GX, SM2_GY, x, y)))
    return sm3(z + message)


def sm2_verify(spki: bytes, digest: bytes, signature: bytes) -> bool:
    r, s = utils.decode_dss_signature(signature)
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False
    t = (r + s) % SM2_N
    if t == 0:
        return False
    point = _add(_mul(s, (SM2_GX, SM2_GY)), _mul(t, sm2_point(spki)))
    if point is None:
        return False
    return (int.from_bytes(digest, "big") + point[0]) % SM2_N == r


# ---- operations --------------------------------------------------------------------------

def verify(req: dict) -> dict:
    spki, algorithm = unb64(req["public_key"]), req["algorithm"]
    message, signature = unb64(req["message"]), unb64(req["signature"])
    is_digest = req.get("message_type", "RAW") == "DIGEST"
    if algorithm == "SM2DSA":
        digest = message if is_digest else sm2_digest(spki, message)
        return {"valid": sm2_verify(spki, digest, signature)}
    key = serialization.load_der_public_key(spki)
    try:
        if algorithm == "ED25519_SHA_512":
            assert isinstance(key, ed25519.Ed25519PublicKey), type(key)
            if is_digest:
                raise ValueError("Ed25519 signs messages")
            key.verify(signature, message)
            return {"valid": True}
        h = hash_of(algorithm)
        chosen = utils.Prehashed(h) if is_digest else h
        if algorithm.startswith("RSASSA_PSS_"):
            assert isinstance(key, rsa.RSAPublicKey), type(key)
            # AWS: salt length = digest length, MGF1 with the same hash. Exactly, not AUTO.
            key.verify(signature, message,
                       padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), chosen)
        elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
            assert isinstance(key, rsa.RSAPublicKey), type(key)
            key.verify(signature, message, padding.PKCS1v15(), chosen)
        elif algorithm.startswith("ECDSA_"):
            assert isinstance(key, ec.EllipticCurvePublicKey), type(key)
            utils.decode_dss_signature(signature)   # DER, as AWS encodes ECDSA signatures
            key.verify(signature, message, ec.ECDSA(chosen))
        else:
            raise ValueError(f"unknown algorithm {algorithm}")
    except InvalidSignature:
        return {"valid": False}
    return {"valid": True}


def sign(req: dict) -> dict:
    key = serialization.load_der_private_key(unb64(req["private_key"]), password=None)
    algorithm, message = req["algorithm"], unb64(req["message"])
    is_digest = req.get("message_type", "RAW") == "DIGEST"
    if algorithm == "ED25519_SHA_512":
        return {"signature": b64(key.sign(message))}
    h = hash_of(algorithm)
    chosen = utils.Prehashed(h) if is_digest else h
    if algorithm.startswith("RSASSA_PSS_"):
        sig = key.sign(message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size),
                       chosen)
    elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        sig = key.sign(message, padding.PKCS1v15(), chosen)
    elif algorithm.startswith("ECDSA_"):
        sig = key.sign(message, ec.ECDSA(chosen))
    else:
        raise ValueError(f"unknown algorithm {algorithm}")
    return {"signature": b64(sig)}


def oaep_encrypt(req: dict) -> dict:
    key = serialization.load_der_public_key(unb64(req["public_key"]))
    h = hash_of(req["algorithm"])
    ct = key.encrypt(unb64(req["plaintext"]),
                     padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None))
    return {"ciphertext": b64(ct)}


def ecdh(req: dict) -> dict:
    peer = serialization.load_der_public_key(unb64(req["peer_public_key"]))
    mine = ec.generate_private_key(peer.curve)
    return {"public_key": b64(mine.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)),
            "shared_secret": b64(mine.exchange(ec.ECDH(), peer)),
            "curve": peer.curve.name}


def public_of(req: dict) -> dict:
    key = serialization.load_der_private_key(unb64(req["private_key"]), password=None)
    out = {"public_key": b64(key.public_key().public_bytes(
               serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)),
           "type": type(key).__name__}
    if isinstance(key, rsa.RSAPrivateKey):
        out["bits"] = key.key_size
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        out["curve"] = key.curve.name
    return out


def digest(req: dict) -> dict:
    message = unb64(req["message"])
    if req["algorithm"] == "SM2DSA":
        return {"digest": b64(sm2_digest(unb64(req["public_key"]), message))}
    h = hash_of(req["algorithm"])
    d = hashes.Hash(h)
    d.update(message)
    return {"digest": b64(d.finalize())}


OPS = {"verify": verify, "sign": sign, "oaep_encrypt": oaep_encrypt, "ecdh": ecdh,
       "public_of": public_of, "digest": digest}


def main() -> int:
    # SM3 (from hashlib) against its standard vector, before anything relies on it.
    assert sm3(b"abc").hex() == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    requests = json.load(sys.stdin)
    results = []
    for req in requests:
        try:
            results.append(OPS[req["op"]](req))
        except Exception as e:  # one bad request must not hide the others' results
            results.append({"error": f"{type(e).__name__}: {e}",
                            "trace": traceback.format_exc(limit=3)})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
