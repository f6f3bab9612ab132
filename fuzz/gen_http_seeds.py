#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_http (fuzz/http_fuzzer.cc) into fuzz/corpus/fuzz_http/.

Each seed is the bytes of one connection. The signed ones are signed by botocore, the AWS SDK's
own signer, with the fuzzer World's root credential at its clock's time, so they pass SigV4 as
they stand; the "FUZZ-SIGN" ones are signed by the fuzzer itself, whatever the mutations.

    python3 fuzz/gen_http_seeds.py      # needs botocore (python3-botocore)
"""
import datetime
import json
import os
from unittest import mock

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime.datetime(2026, 11, 28, 14, 20, 0, tzinfo=datetime.timezone.utc)
HOST = "localhost:8080"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_http")
JSON = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def raw(method, target, headers, body=b""):
    """An HTTP/1.1 request as sent: headers in order, Content-Length added for a body."""
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {target} HTTP/1.1"]
    names = {name.lower() for name, _ in headers}
    if "host" not in names:
        lines.append(f"Host: {HOST}")
    lines += [f"{name}: {value}" for name, value in headers]
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed(service, body, headers, method="POST", path="/", region="us-east-1", query=False):
    """The request signed by botocore; returns (target, headers in order, body)."""
    if isinstance(body, str):
        body = body.encode()
    request = AWSRequest(method=method, url=f"http://{HOST}{path}", data=body,
                         headers=dict(headers))
    creds = Credentials(ACCESS_KEY_ID, SECRET)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
        if query:
            SigV4QueryAuth(creds, service, region, expires=300).add_auth(request)
        else:
            SigV4Auth(creds, service, region).add_auth(request)
    target = request.url[len(f"http://{HOST}"):]
    return target, list(request.headers.items()), body


def kms(operation, params, extra=()):
    target, headers, body = signed(
        "kms", json.dumps(params), [("Content-Type", JSON),
                                    ("X-Amz-Target", f"TrentService.{operation}")])
    return raw("POST", target, headers + list(extra), body)


def query(service, params, method="POST", extra=()):
    form = "&".join(f"{k}={v}" for k, v in params.items())
    if method == "GET":
        target, headers, body = signed(service, b"", [], method="GET", path="/?" + form)
    else:
        target, headers, body = signed(service, form, [("Content-Type", FORM)])
    return raw(method, target, headers + list(extra), body)


def fuzz_signed(target_header, body, auth="FUZZ-SIGN", extra=(), method="POST", target="/"):
    headers = [("Content-Type", JSON), ("X-Amz-Target", target_header),
               ("Authorization", auth)] + list(extra)
    return raw(method, target, headers, body)


def fuzz_signed_query(service, form, extra=()):
    headers = [("Content-Type", FORM), ("Authorization", f"FUZZ-SIGN {service}")] + list(extra)
    return raw("POST", "/", headers, form)


def seeds():
    plaintext = "aGVsbG8gd29ybGQ="  # "hello world"
    out = {
        "healthz": raw("GET", "/healthz", []),
        "metrics": raw("GET", "/metrics", [("Connection", "close")]),
        "kms_list_keys": kms("ListKeys", {}),
        "kms_encrypt": kms("Encrypt", {"KeyId": "alias/fuzz", "Plaintext": plaintext,
                                       "EncryptionContext": {"purpose": "fuzz"}}),
        "kms_generate_data_key": kms("GenerateDataKey", {"KeyId": "alias/fuzz",
                                                         "KeySpec": "AES_256"}),
        "kms_describe_key": kms("DescribeKey", {"KeyId": "alias/fuzz-rsa"}),
        "kms_create_key": kms("CreateKey", {"Description": "made by a seed",
                                            "Tags": [{"TagKey": "k", "TagValue": "v"}]}),
        "kms_generate_mac": kms("GenerateMac", {"KeyId": "alias/fuzz-hmac", "Message": plaintext,
                                                "MacAlgorithm": "HMAC_SHA_256"}),
        "kms_sign": kms("Sign", {"KeyId": "alias/fuzz-rsa", "Message": plaintext,
                                 "SigningAlgorithm": "RSASSA_PSS_SHA_256"}),
        "kms_expect_continue": kms("DescribeKey", {"KeyId": "alias/fuzz"},
                                   extra=[("Expect", "100-continue")]),
        "iam_list_users": query("iam", {"Action": "ListUsers", "Version": "2010-05-08"}),
        "iam_create_user": query("iam", {"Action": "CreateUser", "UserName": "alice",
                                         "Version": "2010-05-08"}),
        "iam_list_users_get": query("iam", {"Action": "ListUsers", "Version": "2010-05-08"},
                                    method="GET"),
        "sts_get_caller_identity": query("sts", {"Action": "GetCallerIdentity",
                                                 "Version": "2011-06-15"}),
        "unsigned": raw("POST", "/", [("Content-Type", JSON),
                                      ("X-Amz-Target", "TrentService.ListKeys")], "{}"),
        "put_method": raw("PUT", "/", [("Content-Type", JSON)], "{}"),
        "body_too_large": raw("POST", "/", [("Content-Length", "2000000")], "{}"),
        "not_http": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        "fuzz_sign_encrypt": fuzz_signed("TrentService.Encrypt",
                                         json.dumps({"KeyId": "alias/fuzz",
                                                     "Plaintext": plaintext})),
        "fuzz_sign_create_key_with_policy": fuzz_signed(
            "TrentService.CreateKey",
            json.dumps({"Policy": json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "kms:*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]})})),
        "fuzz_sign_eu_region": fuzz_signed("TrentService.CreateKey", "{}",
                                           auth="FUZZ-SIGN kms eu-west-1"),
        "fuzz_sign_duplicate_target": fuzz_signed(
            "TrentService.ListAliases", "{}", extra=[("X-Amz-Target", "TrentService.ListKeys")]),
        "fuzz_sign_absolute_target": fuzz_signed("TrentService.ListKeys", "{}",
                                                 target=f"http://{HOST}/?a=1#frag"),
        "fuzz_sign_iam_user_policy": (
            fuzz_signed_query("iam", "Action=CreateUser&UserName=carol&Version=2010-05-08") +
            fuzz_signed_query("iam", (
                "Action=PutUserPolicy&UserName=carol&PolicyName=p&Version=2010-05-08&"
                "PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B"
                "%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22kms%3AEncrypt%22%2C%22Resource"
                "%22%3A%22%2A%22%7D%5D%7D"))),
        "fuzz_sign_sts_assume_role": fuzz_signed_query("sts", (
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&"
            "RoleSessionName=s&Version=2011-06-15")),
    }
    # Several requests on one connection; the server stops after Connection: close.
    out["pipelined"] = (raw("GET", "/healthz", []) + kms("ListKeys", {}) +
                        kms("Encrypt", {"KeyId": "alias/fuzz", "Plaintext": plaintext},
                            extra=[("Connection", "close")]) +
                        raw("GET", "/healthz", []))
    out["fuzz_sign_pipelined_iam"] = (
        fuzz_signed_query("iam", "Action=CreateUser&UserName=bob&Version=2010-05-08") +
        fuzz_signed_query("iam", "Action=CreateAccessKey&UserName=bob&Version=2010-05-08") +
        fuzz_signed_query("iam", "Action=ListAccessKeys&UserName=bob&Version=2010-05-08"))
    # A chunked body: the signature covers the body as reassembled.
    target, headers, body = signed("kms", b"{}", [("Content-Type", JSON),
                                                  ("X-Amz-Target", "TrentService.ListAliases")])
    out["kms_chunked"] = raw("POST", target, headers + [("Transfer-Encoding", "chunked")],
                             b"1\r\n{\r\n1\r\n}\r\n0\r\n\r\n")
    # A signature that does not match.
    target, headers, body = signed("kms", b"{}", [("Content-Type", JSON),
                                                  ("X-Amz-Target", "TrentService.ListKeys")])
    headers = [(k, v[:-8] + "00000000" if k == "Authorization" else v) for k, v in headers]
    out["kms_bad_signature"] = raw("POST", target, headers, body)
    # A presigned (query-string) GetCallerIdentity, as EKS tokens carry it.
    target, headers, body = signed("sts", b"", [], method="GET",
                                   path="/?Action=GetCallerIdentity&Version=2011-06-15",
                                   query=True)
    out["sts_presigned_get"] = raw("GET", target, headers, body)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
