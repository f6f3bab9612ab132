"""Self-checks of the harness that need no server (run first: cheap and catches test bugs)."""

from __future__ import annotations

import datetime
import unittest
from unittest import mock

import harness


class SignerTest(unittest.TestCase):
    def test_manual_signer_matches_botocore(self):
        when = datetime.datetime(2024, 5, 6, 7, 8, 9)
        body = b'{"Limit": 3}'
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            bc = harness.botocore_signed_headers("http://127.0.0.1:18999", body,
                                                 target="TrentService.ListKeys", region="eu-west-1")
        mine = harness.sigv4_headers(
            "127.0.0.1:18999", body,
            {"Content-Type": harness.JSON_CONTENT_TYPE, "X-Amz-Target": "TrentService.ListKeys"},
            access_key=harness.ADMIN_ACCESS_KEY, secret_key=harness.ADMIN_SECRET_KEY,
            region="eu-west-1", x_amz_date="20240506T070809Z")
        self.assertEqual(bc["X-Amz-Date"], mine["X-Amz-Date"])
        self.assertEqual(bc["Authorization"], mine["Authorization"])

    def test_cli_error_parsing(self):
        m = harness.CLI_ERROR_RE.search(
            "\nAn error occurred (NotFoundException) when calling the DescribeKey operation: "
            "Alias arn:aws:kms:us-east-1:111122223333:alias/nothing is not found.\n")
        self.assertEqual("NotFoundException", m.group(1))
        self.assertEqual("DescribeKey", m.group(2))


if __name__ == "__main__":
    unittest.main()
