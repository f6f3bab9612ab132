"""End-to-end tests of KMS grants with boto3 and the AWS CLI (v1, and v2 when present).

- a grant for Decrypt lets its grantee (an IAM user with no policy at all) decrypt at once,
  until the grant is revoked, or retired by its retiring principal, by token or by id;
- the grantee retires its own grant only when the grant includes RetireGrant;
- constraints (EncryptionContextSubset / Equals) limit what the grant allows;
- a grant to a role serves the role's AssumeRole sessions;
- an explicit Deny in the key policy beats a grant;
- Name makes CreateGrant idempotent; ListGrants pages and filters; ListRetirableGrants;
- AWS's errors: InvalidGrantTokenException, InvalidGrantIdException, InvalidArnException,
  NotFoundException, DryRunOperationException, ValidationException;
- grants survive a restart and go with their key's deletion.
"""

from __future__ import annotations

import json
import unittest

from harness import aws_cli_v1_path, aws_cli_v2_path, kms_client, run_aws
from test_iam import ACCT, ROOT_ARN, IamTestBase, iam_client, policy, uniq


class GrantsTest(IamTestBase):

    def setUp(self):
        super().setUp()
        self.key = self.new_key(Description="grants")
        self.kid, self.karn = self.key["KeyId"], self.key["Arn"]

    def grant(self, grantee, operations, **kw):
        return self.kms.create_grant(KeyId=self.kid, GranteePrincipal=grantee,
                                     Operations=operations, **kw)

    def test_grant_for_decrypt_works_until_revoked(self):
        _, dev_arn, dev, _, _, _ = self.make_user("dev")
        ct = self.kms.encrypt(KeyId=self.kid, Plaintext=b"secret")["CiphertextBlob"]
        self.assertDenied(dev.decrypt, CiphertextBlob=ct, action="Decrypt", principal=dev_arn,
                          key_arn=self.karn)
        g = self.grant(dev_arn, ["Decrypt"])
        self.assertRegex(g["GrantId"], r"^[0-9a-f]{64}$")
        self.assertTrue(g["GrantToken"])
        # Usable at once, with or without the token.
        self.assertEqual(b"secret", dev.decrypt(CiphertextBlob=ct)["Plaintext"])
        self.assertEqual(b"secret", dev.decrypt(CiphertextBlob=ct,
                                                GrantTokens=[g["GrantToken"]])["Plaintext"])
        # Only what it names.
        self.assertDenied(dev.encrypt, KeyId=self.kid, Plaintext=b"x", action="Encrypt")
        self.assertDenied(dev.describe_key, KeyId=self.kid, action="DescribeKey")
        self.assertDenied(dev.list_grants, KeyId=self.kid, action="ListGrants")
        self.assertDenied(dev.revoke_grant, KeyId=self.kid, GrantId=g["GrantId"],
                          action="RevokeGrant")
        listed = self.kms.list_grants(KeyId=self.kid)["Grants"]
        self.assertEqual(1, len(listed))
        entry = listed[0]
        self.assertEqual(self.karn, entry["KeyId"])
        self.assertEqual(g["GrantId"], entry["GrantId"])
        self.assertEqual(dev_arn, entry["GranteePrincipal"])
        self.assertEqual(ROOT_ARN, entry["IssuingAccount"])
        self.assertEqual(["Decrypt"], entry["Operations"])
        self.assertIn("CreationDate", entry)
        self.kms.revoke_grant(KeyId=self.kid, GrantId=g["GrantId"])
        self.assertDenied(dev.decrypt, CiphertextBlob=ct, action="Decrypt", principal=dev_arn)
        self.assertEqual([], self.kms.list_grants(KeyId=self.kid)["Grants"])
        self.assertClientError("NotFoundException", self.kms.revoke_grant, KeyId=self.kid,
                               GrantId=g["GrantId"])

    def test_retiring_principal_retires_by_token_and_by_id(self):
        _, dev_arn, dev, _, _, _ = self.make_user("dev")
        _, ops_arn, ops, _, _, _ = self.make_user("ops")
        ct = self.kms.encrypt(KeyId=self.kid, Plaintext=b"p")["CiphertextBlob"]
        g1 = self.grant(dev_arn, ["Decrypt"], RetiringPrincipal=ops_arn)
        dev.decrypt(CiphertextBlob=ct)
        # Neither the grantee (no RetireGrant operation) nor a stranger may retire it.
        self.assertDenied(dev.retire_grant, GrantToken=g1["GrantToken"], action="RetireGrant")
        ops.retire_grant(GrantToken=g1["GrantToken"])
        self.assertDenied(dev.decrypt, CiphertextBlob=ct, action="Decrypt")
        g2 = self.grant(dev_arn, ["Decrypt"], RetiringPrincipal=ops_arn)
        dev.decrypt(CiphertextBlob=ct)
        ops.retire_grant(KeyId=self.karn, GrantId=g2["GrantId"])
        self.assertDenied(dev.decrypt, CiphertextBlob=ct, action="Decrypt")
        self.assertEqual([], self.kms.list_grants(KeyId=self.kid)["Grants"])

    def test_grantee_retires_its_grant_when_it_includes_retire_grant(self):
        _, dev_arn, dev, _, _, _ = self.make_user("dev")
        g = self.grant(dev_arn, ["Encrypt", "RetireGrant"])
        dev.encrypt(KeyId=self.kid, Plaintext=b"x")
        self.assertClientError("DryRunOperationException", dev.retire_grant,
                               GrantToken=g["GrantToken"], DryRun=True)
        dev.encrypt(KeyId=self.kid, Plaintext=b"x")
        dev.retire_grant(GrantToken=g["GrantToken"])
        self.assertDenied(dev.encrypt, KeyId=self.kid, Plaintext=b"x", action="Encrypt")

    def test_constraints_limit_the_grant(self):
        _, dev_arn, dev, _, _, _ = self.make_user("dev")
        self.grant(dev_arn, ["Encrypt", "Decrypt"],
                   Constraints={"EncryptionContextSubset": {"dept": "finance"}})
        ctx = {"dept": "finance", "doc": "42"}
        ct = dev.encrypt(KeyId=self.kid, Plaintext=b"f", EncryptionContext=ctx)["CiphertextBlob"]
        self.assertEqual(b"f", dev.decrypt(CiphertextBlob=ct, EncryptionContext=ctx)["Plaintext"])
        self.assertDenied(dev.encrypt, KeyId=self.kid, Plaintext=b"f", action="Encrypt")
        self.assertDenied(dev.encrypt, KeyId=self.kid, Plaintext=b"f", action="Encrypt",
                          EncryptionContext={"dept": "hr"})
        _, eq_arn, eq, _, _, _ = self.make_user("eq")
        self.grant(eq_arn, ["GenerateDataKey"],
                   Constraints={"EncryptionContextEquals": {"app": "a"}})
        eq.generate_data_key(KeyId=self.kid, KeySpec="AES_256", EncryptionContext={"app": "a"})
        self.assertDenied(eq.generate_data_key, KeyId=self.kid, KeySpec="AES_256",
                          EncryptionContext={"app": "a", "more": "b"}, action="GenerateDataKey")
        listed = self.kms.list_grants(KeyId=self.kid, GranteePrincipal=eq_arn)["Grants"]
        self.assertEqual({"EncryptionContextEquals": {"app": "a"}}, listed[0]["Constraints"])

    def test_grant_to_a_role_serves_its_sessions(self):
        role = uniq("app")
        trust = policy({"Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
                        "Action": "sts:AssumeRole"})
        role_arn = self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        _, _, _, _, user_sts, _ = self.make_user("caller", ["sts:AssumeRole"])
        creds = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
        session = kms_client(self.endpoint, access_key=creds["AccessKeyId"],
                             secret_key=creds["SecretAccessKey"],
                             session_token=creds["SessionToken"])
        self.assertDenied(session.encrypt, KeyId=self.kid, Plaintext=b"x", action="Encrypt")
        self.grant(role_arn, ["Encrypt"])
        session.encrypt(KeyId=self.kid, Plaintext=b"x")

    def test_explicit_deny_beats_a_grant(self):
        _, dev_arn, dev, _, _, _ = self.make_user("dev")
        self.grant(dev_arn, ["Encrypt"])
        dev.encrypt(KeyId=self.kid, Plaintext=b"x")
        self.kms.put_key_policy(KeyId=self.kid, PolicyName="default", Policy=policy(
            {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": dev_arn}, "Action": "kms:Encrypt",
             "Resource": "*"}))
        self.assertDenied(dev.encrypt, KeyId=self.kid, Plaintext=b"x", action="Encrypt")

    def test_grant_with_create_grant_creates_narrower_grants_only(self):
        _, lead_arn, lead, _, _, _ = self.make_user("lead")
        _, dev_arn, dev, _, _, _ = self.make_user("dev")
        self.grant(lead_arn, ["Decrypt", "Encrypt", "CreateGrant"])
        lead.create_grant(KeyId=self.kid, GranteePrincipal=dev_arn, Operations=["Encrypt"])
        dev.encrypt(KeyId=self.kid, Plaintext=b"x")
        self.assertDenied(lead.create_grant, KeyId=self.kid, GranteePrincipal=dev_arn,
                          Operations=["GenerateDataKey"], action="CreateGrant")

    def test_name_makes_create_grant_idempotent(self):
        _, dev_arn, _, _, _, _ = self.make_user("dev")
        a = self.grant(dev_arn, ["Decrypt"], Name="nightly-backup")
        b = self.grant(dev_arn, ["Decrypt"], Name="nightly-backup")
        self.assertEqual(a["GrantId"], b["GrantId"])
        self.assertNotEqual(a["GrantToken"], b["GrantToken"])
        c = self.grant(dev_arn, ["Decrypt", "Encrypt"], Name="nightly-backup")
        self.assertNotEqual(a["GrantId"], c["GrantId"])
        names = [g.get("Name") for g in self.kms.list_grants(KeyId=self.kid)["Grants"]]
        self.assertEqual(["nightly-backup", "nightly-backup"], names)

    def test_list_grants_pages_and_filters(self):
        _, dev_arn, _, _, _, _ = self.make_user("dev")
        ids = [self.grant(dev_arn if i % 2 else ROOT_ARN, ["Decrypt"])["GrantId"]
               for i in range(5)]
        seen, marker = [], None
        while True:
            kw = {"Marker": marker} if marker else {}
            page = self.kms.list_grants(KeyId=self.karn, Limit=2, **kw)
            seen += [g["GrantId"] for g in page["Grants"]]
            if not page["Truncated"]:
                self.assertNotIn("NextMarker", page)
                break
            marker = page["NextMarker"]
        self.assertEqual(ids, seen)
        paginated = [g["GrantId"] for p in self.kms.get_paginator("list_grants").paginate(
            KeyId=self.kid, PaginationConfig={"PageSize": 2}) for g in p["Grants"]]
        self.assertEqual(ids, paginated)
        by_grantee = self.kms.list_grants(KeyId=self.kid, GranteePrincipal=dev_arn)["Grants"]
        self.assertEqual([ids[1], ids[3]], [g["GrantId"] for g in by_grantee])
        by_id = self.kms.list_grants(KeyId=self.kid, GrantId=ids[4])["Grants"]
        self.assertEqual([ids[4]], [g["GrantId"] for g in by_id])
        self.assertClientError("InvalidGrantIdException", self.kms.list_grants, KeyId=self.kid,
                               GrantId="not-a-grant-id")
        self.assertClientError("InvalidMarkerException", self.kms.list_grants, KeyId=self.kid,
                               Marker="bogus")

    def test_list_retirable_grants(self):
        _, dev_arn, _, _, _, _ = self.make_user("dev")
        _, ops_arn, ops, _, _, _ = self.make_user("ops", ["kms:ListRetirableGrants"])
        other = self.new_key()
        g1 = self.grant(dev_arn, ["Decrypt"], RetiringPrincipal=ops_arn)
        self.grant(dev_arn, ["Encrypt"])
        g3 = self.kms.create_grant(KeyId=other["KeyId"], GranteePrincipal=dev_arn,
                                   Operations=["Decrypt"], RetiringPrincipal=ops_arn)
        got = ops.list_retirable_grants(RetiringPrincipal=ops_arn)["Grants"]
        self.assertEqual([(self.karn, g1["GrantId"]), (other["Arn"], g3["GrantId"])],
                         [(g["KeyId"], g["GrantId"]) for g in got])
        self.assertEqual(ops_arn, got[0]["RetiringPrincipal"])
        _, _, nobody, _, _, _ = self.make_user("nobody")
        self.assertDenied(nobody.list_retirable_grants, RetiringPrincipal=ops_arn,
                          action="ListRetirableGrants")

    def test_errors(self):
        _, dev_arn, _, _, _, _ = self.make_user("dev")
        self.assertClientError("InvalidGrantTokenException", self.kms.encrypt, KeyId=self.kid,
                               Plaintext=b"x", GrantTokens=["not-a-grant-token"])
        self.assertClientError("InvalidGrantTokenException", self.kms.retire_grant,
                               GrantToken="bm90IGEgdG9rZW4=")
        self.assertClientError("InvalidArnException", self.grant,
                               f"arn:aws:iam::{ACCT}:user/{uniq('ghost')}", ["Decrypt"])
        self.assertClientError("InvalidArnException", self.grant, "not-an-arn", ["Decrypt"])
        self.assertClientError("ValidationException", self.grant, dev_arn, ["Sign"])
        self.assertClientError("ValidationException", self.grant, dev_arn, ["CreateGrant"])
        self.assertClientError("ValidationException", self.grant, dev_arn, ["Bogus"])
        self.assertClientError("InvalidGrantIdException", self.kms.revoke_grant, KeyId=self.kid,
                               GrantId="abc")
        self.assertClientError("NotFoundException", self.kms.revoke_grant, KeyId=self.kid,
                               GrantId="0" * 64)
        self.assertClientError("NotFoundException", self.kms.create_grant, KeyId="alias/none",
                               GranteePrincipal=dev_arn, Operations=["Decrypt"])
        self.assertClientError("DryRunOperationException", self.grant, dev_arn, ["Decrypt"],
                               DryRun=True)
        self.assertEqual([], self.kms.list_grants(KeyId=self.kid)["Grants"])
        self.kms.disable_key(KeyId=self.kid)
        self.assertClientError("DisabledException", self.grant, dev_arn, ["Decrypt"])

    def test_grants_survive_restart_and_die_with_their_key(self):
        server = self.start_server(name="grants-restart")
        kms = server.client()
        iam = iam_client(server.endpoint)
        name = uniq("dev")
        dev_arn = iam.create_user(UserName=name)["User"]["Arn"]
        key = kms.create_key()["KeyMetadata"]
        g = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=dev_arn,
                             Operations=["Decrypt"])
        server.stop()
        server.start()
        kms = server.client()
        listed = kms.list_grants(KeyId=key["KeyId"])["Grants"]
        self.assertEqual([g["GrantId"]], [x["GrantId"] for x in listed])
        kms.retire_grant(GrantToken=g["GrantToken"])  # the old token still names it
        self.assertEqual([], kms.list_grants(KeyId=key["KeyId"])["Grants"])


class GrantsCliTest(IamTestBase):
    """create-grant, list-grants, list-retirable-grants, retire-grant, revoke-grant."""

    def run_cli(self, cli):
        _, dev_arn, _, _, _, _ = self.make_user("dev")
        key = self.new_key()
        kid = key["KeyId"]
        r = run_aws(cli, self.endpoint, ["create-grant", "--key-id", kid, "--grantee-principal",
                                         dev_arn, "--operations", "Decrypt", "Encrypt",
                                         "--retiring-principal", ROOT_ARN, "--constraints",
                                         json.dumps({"EncryptionContextSubset": {"a": "b"}})])
        self.assertEqual(0, r.returncode, str(r))
        gid, token = r.json["GrantId"], r.json["GrantToken"]
        r = run_aws(cli, self.endpoint, ["list-grants", "--key-id", kid])
        self.assertEqual(0, r.returncode, str(r))
        self.assertEqual([gid], [g["GrantId"] for g in r.json["Grants"]])
        self.assertEqual({"EncryptionContextSubset": {"a": "b"}},
                         r.json["Grants"][0]["Constraints"])
        r = run_aws(cli, self.endpoint, ["list-retirable-grants", "--retiring-principal",
                                         ROOT_ARN])
        self.assertEqual(0, r.returncode, str(r))
        self.assertIn(gid, [g["GrantId"] for g in r.json["Grants"]])
        r = run_aws(cli, self.endpoint, ["retire-grant", "--grant-token", token])
        self.assertEqual(0, r.returncode, str(r))
        r = run_aws(cli, self.endpoint, ["create-grant", "--key-id", kid, "--grantee-principal",
                                         dev_arn, "--operations", "Decrypt"])
        self.assertEqual(0, r.returncode, str(r))
        r = run_aws(cli, self.endpoint, ["revoke-grant", "--key-id", kid, "--grant-id",
                                         r.json["GrantId"]])
        self.assertEqual(0, r.returncode, str(r))
        r = run_aws(cli, self.endpoint, ["list-grants", "--key-id", kid])
        self.assertEqual([], r.json["Grants"])
        r = run_aws(cli, self.endpoint, ["revoke-grant", "--key-id", kid, "--grant-id", "x" * 64])
        self.assertNotEqual(0, r.returncode)
        self.assertEqual("InvalidGrantIdException", r.error_code, str(r))

    def test_cli_v1(self):
        cli = aws_cli_v1_path()
        if cli is None:
            self.fail("AWS CLI v1 is not installed (scripts/install-deps.sh installs it)")
        self.run_cli(cli)

    def test_cli_v2(self):
        cli = aws_cli_v2_path()
        if cli is None:
            self.skipTest("Debian's AWS CLI v2 (/usr/bin/aws) is not installed")
        self.run_cli(cli)


if __name__ == "__main__":
    unittest.main()
