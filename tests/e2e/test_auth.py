"""SigV4 authentication errors, each followed by a request that works."""

from __future__ import annotations

import datetime
import hashlib
import json
import unittest
from unittest import mock

import harness
from harness import (ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY, ScytaleTestCase,
                     amz_date, manual_signed_request, signed_request, unsigned_request)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def botocore_clock(offset: datetime.timedelta):
    """Patch botocore's SigV4 clock (naive UTC, as botocore.compat.get_current_datetime returns)."""
    return mock.patch("botocore.auth.get_current_datetime",
                      side_effect=lambda *a, **k: (utc_now() + offset).replace(tzinfo=None))


class AuthTest(ScytaleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.start_class_server(name="auth")

    def assertWorks(self):
        """A normal, correctly signed request succeeds (boto3 and raw)."""
        resp = self.server.client().list_keys(Limit=5)
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        self.assertTrue(resp["ResponseMetadata"].get("RequestId"))
        r = signed_request(self.server, "ListKeys", {"Limit": 1})
        self.assertEqual(200, r.status, str(r))
        self.assertTrue(r.request_id)

    # -- the four errors of the contract ----------------------------------------------

    def test_wrong_secret(self):
        bad = self.server.client(secret_key=ADMIN_SECRET_KEY[:-1] + ("A" if ADMIN_SECRET_KEY[-1] != "A" else "B"))
        self.assertClientError("InvalidSignatureException", bad.list_keys)
        self.assertClientError("InvalidSignatureException", bad.create_key)
        r = signed_request(self.server, "ListKeys", secret_key="x" * 40)
        self.assertRawError(r, "InvalidSignatureException")
        self.assertWorks()

    def test_unknown_access_key(self):
        bad = self.server.client(access_key="AKIAUNKNOWNUNKNOWN00")
        self.assertClientError("UnrecognizedClientException", bad.list_keys)
        r = signed_request(self.server, "DescribeKey", {"KeyId": "alias/x"},
                           access_key="AKIANOSUCHKEY0000000", secret_key=ADMIN_SECRET_KEY)
        self.assertRawError(r, "UnrecognizedClientException")
        self.assertWorks()

    def test_missing_authorization(self):
        r = unsigned_request(self.server, "ListKeys", {})
        self.assertRawError(r, "MissingAuthenticationTokenException")
        # With an X-Amz-Date but still no Authorization header.
        r = unsigned_request(self.server, "CreateKey", {}, headers={"X-Amz-Date": amz_date(utc_now())})
        self.assertRawError(r, "MissingAuthenticationTokenException")
        # Signed request whose Authorization header was stripped.
        r = signed_request(self.server, "ListKeys", header_overrides={"Authorization": None})
        self.assertRawError(r, "MissingAuthenticationTokenException")
        self.assertWorks()

    def test_expired_signature(self):
        with botocore_clock(datetime.timedelta(minutes=-20)):
            self.assertClientError("InvalidSignatureException", self.server.client().list_keys,
                                   message_prefix="Signature expired")
            r = signed_request(self.server, "ListKeys")
        self.assertRawError(r, "InvalidSignatureException", message_prefix="Signature expired")
        # Same, signed by hand (independent of botocore).
        old = amz_date(utc_now() - datetime.timedelta(minutes=20))
        r = manual_signed_request(self.server, "ListKeys", x_amz_date=old)
        self.assertRawError(r, "InvalidSignatureException", message_prefix="Signature expired")
        self.assertIn(old, r.message, "the message names the request's X-Amz-Date")
        self.assertWorks()

    # -- more signature checks ---------------------------------------------------------

    def test_future_signature(self):
        with botocore_clock(datetime.timedelta(minutes=20)):
            self.assertClientError("InvalidSignatureException", self.server.client().list_keys,
                                   message_prefix="Signature not yet current")
        self.assertWorks()

    def test_small_clock_skew_accepted(self):
        for minutes in (-3, 3):
            with self.subTest(minutes=minutes), botocore_clock(datetime.timedelta(minutes=minutes)):
                self.server.client().list_keys(Limit=1)

    def test_manual_signer_sanity(self):
        # Our independent signer produces requests the server accepts (so the negative
        # tests that use it fail for the intended reason only).
        r = manual_signed_request(self.server, "ListKeys", {"Limit": 2})
        self.assertEqual(200, r.status, str(r))

    def test_tampered_body(self):
        signed = json.dumps({"Limit": 1}).encode()
        tampered = json.dumps({"Limit": 2}).encode()
        self.assertEqual(len(signed), len(tampered))
        r = signed_request(self.server, "ListKeys", signed, send_body=tampered)
        self.assertRawError(r, "InvalidSignatureException")
        self.assertWorks()

    def test_tampered_target(self):
        # X-Amz-Target is signed: a signed ListKeys cannot be replayed as CreateKey.
        r = signed_request(self.server, "ListKeys", {},
                           header_overrides={"X-Amz-Target": "TrentService.CreateKey"})
        self.assertRawError(r, "InvalidSignatureException")
        self.assertWorks()

    def test_wrong_service_in_scope(self):
        r = signed_request(self.server, "ListKeys", service="s3")
        self.assertRawError(r, "InvalidSignatureException")
        self.assertWorks()

    def test_scope_date_mismatch(self):
        now = utc_now()
        r = manual_signed_request(self.server, "ListKeys", x_amz_date=amz_date(now),
                                  scope_date=(now - datetime.timedelta(days=2)).strftime("%Y%m%d"))
        self.assertRawError(r, "InvalidSignatureException")
        self.assertWorks()

    def test_malformed_authorization(self):
        for value in ("AWS4-HMAC-SHA256 garbage",
                      f"AWS4-HMAC-SHA256 Credential={ADMIN_ACCESS_KEY}/20200101/us-east-1/kms/aws4_request"):
            with self.subTest(authorization=value):
                r = unsigned_request(self.server, "ListKeys", {},
                                     headers={"Authorization": value, "X-Amz-Date": amz_date(utc_now())})
                self.assertRawError(r, "IncompleteSignatureException")
        self.assertWorks()

    def test_host_must_be_signed(self):
        r = manual_signed_request(self.server, "ListKeys",
                                  signed=["content-type", "x-amz-date", "x-amz-target"])
        self.assertRawError(r, None)
        self.assertIn(r.error_type, ("IncompleteSignatureException", "InvalidSignatureException"), str(r))
        self.assertWorks()

    def test_js_sdk_style_signed_headers(self):
        # The JS SDK v3 signs more headers, including x-amz-content-sha256.
        body = json.dumps({"Limit": 3}).encode()
        extra = {"amz-sdk-invocation-id": "0b0b0b0b-1111-2222-3333-444455556666",
                 "amz-sdk-request": "attempt=1; max=1",
                 "Content-Length": str(len(body)),
                 "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
                 "x-amz-user-agent": "aws-sdk-js/3.0.0"}
        r = manual_signed_request(self.server, "ListKeys", body, extra_headers=extra)
        self.assertEqual(200, r.status, str(r))
        # A signed x-amz-content-sha256 that does not match the body is refused.
        wrong = dict(extra, **{"x-amz-content-sha256": hashlib.sha256(b"{}").hexdigest()})
        r = manual_signed_request(self.server, "ListKeys", body, extra_headers=wrong)
        self.assertRawError(r, None)
        self.assertWorks()

    def test_malformed_x_amz_date(self):
        r = signed_request(self.server, "ListKeys", header_overrides={"X-Amz-Date": "garbage"})
        self.assertRawError(r, "IncompleteSignatureException")
        r = signed_request(self.server, "ListKeys", header_overrides={"X-Amz-Date": None})
        self.assertRawError(r, "IncompleteSignatureException")
        self.assertWorks()

    def test_signed_header_not_in_request(self):
        auth = self._botocore_authorization()
        r = signed_request(self.server, "ListKeys", header_overrides={
            "Authorization": auth.replace("SignedHeaders=content-type;host;",
                                          "SignedHeaders=content-type;host;x-not-sent;")})
        self.assertRawError(r, "IncompleteSignatureException")
        self.assertWorks()

    def test_wrong_scope_terminator(self):
        auth = self._botocore_authorization()
        r = signed_request(self.server, "ListKeys",
                           header_overrides={"Authorization": auth.replace("/aws4_request", "/aws5_request")})
        self.assertRawError(r, "InvalidSignatureException")
        self.assertWorks()

    def test_unknown_session_token(self):
        # Long-term admin keys with a made-up X-Amz-Security-Token (signed by botocore).
        bad = harness.kms_client(self.server.endpoint, access_key=ADMIN_ACCESS_KEY,
                                 secret_key=ADMIN_SECRET_KEY, session_token="FAKE-SESSION-TOKEN")
        self.assertClientError("UnrecognizedClientException", bad.list_keys)
        self.assertWorks()

    def _botocore_authorization(self) -> str:
        h = harness.botocore_signed_headers(self.server.endpoint, b"{}", target="TrentService.ListKeys")
        self.assertIn("SignedHeaders=content-type;host;x-amz-date;x-amz-target,", h["Authorization"])
        return h["Authorization"]

    # -- request ids -------------------------------------------------------------------

    def test_request_id_on_success_and_errors(self):
        ids = []
        ok = signed_request(self.server, "ListKeys")
        self.assertEqual(200, ok.status)
        ids.append(ok.request_id)
        errors = [
            signed_request(self.server, "ListKeys", secret_key="y" * 40),
            signed_request(self.server, "ListKeys", access_key="AKIANOSUCHKEY0000001"),
            unsigned_request(self.server, "ListKeys"),
            signed_request(self.server, "DescribeKey", {"KeyId": "alias/nothing"}),
            signed_request(self.server, "NoSuchOperation"),
            signed_request(self.server, "ListKeys", "{not json"),
        ]
        for r in errors:
            with self.subTest(error=r.error_type):
                self.assertTrue(400 <= r.status < 500, str(r))
                self.assertTrue(r.request_id, f"no x-amzn-RequestId: {r}")
                ids.append(r.request_id)
        self.assertEqual(len(ids), len(set(ids)), f"request ids repeat: {ids}")
        resp = self.server.client().create_key()
        self.assertTrue(resp["ResponseMetadata"]["RequestId"])
        self.assertNotIn(resp["ResponseMetadata"]["RequestId"], ids)

    def test_env_credentials_are_the_admin(self):
        # The server was started with SCYTALE_ADMIN_* in its environment: those work and
        # the key is owned by the default account.
        md = self.server.client(access_key=ADMIN_ACCESS_KEY, secret_key=ADMIN_SECRET_KEY) \
            .create_key()["KeyMetadata"]
        self.assertEqual("111122223333", md["AWSAccountId"])


if __name__ == "__main__":
    unittest.main()
