#include "crypto/asymmetric.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/matchers.h"
#include "crypto/internal/ossl_ptr.h"
#include "crypto/internal/pkey.h"

namespace scytale::crypto {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::IsOk;

Bytes Hex(std::string_view s) { return HexDecode(s).value(); }
Bytes HexField(const nlohmann::json& j, const char* field) {
  return Hex(j[field].get<std::string>());
}
std::string HexOf(const SecretBytes& s) { return HexEncode(s.Reveal(KeyAccess::Grant())); }

constexpr KeyPairType kAllTypes[] = {
    KeyPairType::kRsa2048,     KeyPairType::kRsa3072, KeyPairType::kRsa4096,
    KeyPairType::kEcP256,      KeyPairType::kEcP384,  KeyPairType::kEcP521,
    KeyPairType::kEcSecp256k1, KeyPairType::kEd25519, KeyPairType::kSm2,
};
constexpr KeyPairType kEcTypes[] = {KeyPairType::kEcP256, KeyPairType::kEcP384,
                                    KeyPairType::kEcP521, KeyPairType::kEcSecp256k1};
constexpr HashAlgorithm kSha2[] = {HashAlgorithm::kSha224, HashAlgorithm::kSha256,
                                   HashAlgorithm::kSha384, HashAlgorithm::kSha512};

std::string TypeName(KeyPairType type) {
  switch (type) {
    case KeyPairType::kRsa2048:
      return "Rsa2048";
    case KeyPairType::kRsa3072:
      return "Rsa3072";
    case KeyPairType::kRsa4096:
      return "Rsa4096";
    case KeyPairType::kEcP256:
      return "EcP256";
    case KeyPairType::kEcP384:
      return "EcP384";
    case KeyPairType::kEcP521:
      return "EcP521";
    case KeyPairType::kEcSecp256k1:
      return "EcSecp256k1";
    case KeyPairType::kEd25519:
      return "Ed25519";
    case KeyPairType::kSm2:
      return "Sm2";
  }
  return "?";
}

// Generated keys are shared by the whole binary (index 0 and 1 per type): RSA-4096
// generation takes seconds.
const PrivateKey& KeyFor(KeyPairType type, int index = 0) {
  static auto* const cache = new std::map<std::pair<KeyPairType, int>, PrivateKey>;
  auto it = cache->find({type, index});
  if (it == cache->end()) {
    it = cache->emplace(std::pair(type, index), PrivateKey::Generate(type).value()).first;
  }
  return it->second;
}
const PrivateKey& OtherKeyFor(KeyPairType type) { return KeyFor(type, 1); }

// ---------------------------------------------------------------------------------------------
// Key types, generation and encodings

TEST(KeyPairTypeFromSpec, MapsEveryKmsSpecAndNothingElse) {
  EXPECT_EQ(KeyPairTypeFromSpec("RSA_2048"), KeyPairType::kRsa2048);
  EXPECT_EQ(KeyPairTypeFromSpec("RSA_3072"), KeyPairType::kRsa3072);
  EXPECT_EQ(KeyPairTypeFromSpec("RSA_4096"), KeyPairType::kRsa4096);
  EXPECT_EQ(KeyPairTypeFromSpec("ECC_NIST_P256"), KeyPairType::kEcP256);
  EXPECT_EQ(KeyPairTypeFromSpec("ECC_NIST_P384"), KeyPairType::kEcP384);
  EXPECT_EQ(KeyPairTypeFromSpec("ECC_NIST_P521"), KeyPairType::kEcP521);
  EXPECT_EQ(KeyPairTypeFromSpec("ECC_SECG_P256K1"), KeyPairType::kEcSecp256k1);
  EXPECT_EQ(KeyPairTypeFromSpec("ECC_NIST_EDWARDS25519"), KeyPairType::kEd25519);
  EXPECT_EQ(KeyPairTypeFromSpec("SM2"), KeyPairType::kSm2);
  EXPECT_EQ(KeyPairTypeFromSpec("RSA_1024"), std::nullopt);
  EXPECT_EQ(KeyPairTypeFromSpec("SYMMETRIC_DEFAULT"), std::nullopt);
  EXPECT_EQ(KeyPairTypeFromSpec("HMAC_256"), std::nullopt);
  EXPECT_EQ(KeyPairTypeFromSpec("rsa_2048"), std::nullopt);
  EXPECT_EQ(KeyPairTypeFromSpec(""), std::nullopt);
}

class EveryKeyType : public ::testing::TestWithParam<KeyPairType> {};

TEST_P(EveryKeyType, GeneratesAndRoundTripsThroughPkcs8AndSpki) {
  const PrivateKey& key = KeyFor(GetParam());
  EXPECT_EQ(key.type(), GetParam());
  EXPECT_EQ(key.Public().type(), GetParam());

  auto pkcs8 = key.ToPkcs8();
  ASSERT_THAT(pkcs8, IsOk());
  auto reparsed = PrivateKey::FromPkcs8(*pkcs8);
  ASSERT_THAT(reparsed, IsOk());
  EXPECT_EQ(reparsed->type(), GetParam());
  EXPECT_TRUE(reparsed->ToPkcs8().value() == *pkcs8);

  auto spki = key.Public().ToDer();
  ASSERT_THAT(spki, IsOk());
  auto pub = PublicKey::FromDer(*spki);
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->type(), GetParam());
  EXPECT_EQ(pub->ToDer().value(), *spki);
  EXPECT_EQ(reparsed->Public().ToDer().value(), *spki);

  // Two generated keys differ.
  EXPECT_NE(OtherKeyFor(GetParam()).Public().ToDer().value(), *spki);
}

TEST_P(EveryKeyType, RefusesTruncatedOrExtendedEncodings) {
  const PrivateKey& key = KeyFor(GetParam());
  SecretBytes pkcs8 = key.ToPkcs8().value();
  auto der = pkcs8.Reveal(KeyAccess::Grant());
  EXPECT_THAT(PrivateKey::FromPkcs8(SecretBytes(der.first(der.size() - 1))),
              HasError(ErrorCode::kValidation));
  Bytes extended(der.begin(), der.end());
  extended.push_back(0);
  EXPECT_THAT(PrivateKey::FromPkcs8(SecretBytes(extended)), HasError(ErrorCode::kValidation));
  OPENSSL_cleanse(extended.data(), extended.size());

  Bytes spki = key.Public().ToDer().value();
  EXPECT_THAT(PublicKey::FromDer(std::span(spki).first(spki.size() - 1)),
              HasError(ErrorCode::kValidation));
  spki.push_back(0);
  EXPECT_THAT(PublicKey::FromDer(spki), HasError(ErrorCode::kValidation));
}

INSTANTIATE_TEST_SUITE_P(Asymmetric, EveryKeyType, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return TypeName(info.param); });

TEST(PrivateKey, FromPkcs8RefusesGarbageAndEmptyInput) {
  EXPECT_THAT(PrivateKey::FromPkcs8(SecretBytes()), HasError(ErrorCode::kValidation));
  EXPECT_THAT(PrivateKey::FromPkcs8(SecretBytes(AsBytes("not a key"))),
              HasError(ErrorCode::kValidation));
  // A SubjectPublicKeyInfo is not a PrivateKeyInfo.
  Bytes spki = KeyFor(KeyPairType::kEcP256).Public().ToDer().value();
  EXPECT_THAT(PrivateKey::FromPkcs8(SecretBytes(spki)), HasError(ErrorCode::kValidation));
}

TEST(PublicKey, FromDerRefusesGarbageAndEmptyInput) {
  EXPECT_THAT(PublicKey::FromDer({}), HasError(ErrorCode::kValidation));
  EXPECT_THAT(PublicKey::FromDer(AsBytes("not a key")), HasError(ErrorCode::kValidation));
}

TEST(PublicKey, FromDerRefusesBerThatIsNotDer) {
  Bytes spki = KeyFor(KeyPairType::kEcP256).Public().ToDer().value();
  ASSERT_EQ(spki[0], 0x30);
  ASSERT_EQ(spki[1], 0x59);
  // The same SEQUENCE with a long-form length (0x81 0x59): valid BER, not DER.
  Bytes ber = {0x30, 0x81};
  ber.insert(ber.end(), spki.begin() + 1, spki.end());
  EXPECT_THAT(PublicKey::FromDer(ber), HasError(ErrorCode::kValidation));
}

TEST(PublicKey, KeysOutsideTheKmsTypesParseWithoutAType) {
  internal::OsslPtr<EVP_PKEY> p224(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-224"));
  ASSERT_TRUE(p224);
  int len = i2d_PUBKEY(p224.get(), nullptr);
  Bytes der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  ASSERT_EQ(i2d_PUBKEY(p224.get(), &p), len);
  auto pub = PublicKey::FromDer(der);
  ASSERT_THAT(pub, IsOk());
  EXPECT_EQ(pub->type(), std::nullopt);
  EXPECT_THAT(Verify(*pub, SignatureScheme::kEcdsa, HashAlgorithm::kSha256, AsBytes("m"), false,
                     Bytes(70, 1)),
              HasError(ErrorCode::kValidation));

  // Its private key is refused: a PrivateKey always has a KeyPairType.
  internal::OsslPtr<PKCS8_PRIV_KEY_INFO> p8(EVP_PKEY2PKCS8(p224.get()));
  ASSERT_TRUE(p8);
  len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  SecretBytes pkcs8(static_cast<size_t>(len));
  p = pkcs8.MutableReveal(KeyAccess::Grant()).data();
  ASSERT_EQ(i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p), len);
  EXPECT_THAT(PrivateKey::FromPkcs8(pkcs8), HasError(ErrorCode::kValidation));
}

TEST(PrivateKey, FromEcScalarOneGivesTheGenerator) {
  Bytes one(32, 0);
  one.back() = 1;
  auto key = PrivateKey::FromEcScalar(KeyPairType::kEcP256, one);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->type(), KeyPairType::kEcP256);
  EXPECT_EQ(HexEncode(key->Public().ToDer().value()),
            "3059301306072a8648ce3d020106082a8648ce3d03010703420004"
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  // The key it makes signs like any other.
  Bytes sig =
      Sign(*key, SignatureScheme::kEcdsa, HashAlgorithm::kSha256, AsBytes("m"), false).value();
  EXPECT_TRUE(Verify(key->Public(), SignatureScheme::kEcdsa, HashAlgorithm::kSha256, AsBytes("m"),
                     false, sig)
                  .value());
}

TEST(PrivateKey, FromEcScalarRefusesOutOfRangeScalarsAndNonEcTypes) {
  EXPECT_THAT(PrivateKey::FromEcScalar(KeyPairType::kEcP256, Bytes(32, 0)),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(PrivateKey::FromEcScalar(KeyPairType::kEcP256, {}), HasError(ErrorCode::kValidation));
  // The group order n of P-256 itself is out of range.
  EXPECT_THAT(PrivateKey::FromEcScalar(
                  KeyPairType::kEcP256,
                  Hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(PrivateKey::FromEcScalar(KeyPairType::kRsa2048, Bytes(32, 1)),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(PrivateKey::FromEcScalar(KeyPairType::kEd25519, Bytes(32, 1)),
              HasError(ErrorCode::kValidation));
}

// ---------------------------------------------------------------------------------------------
// Digests

TEST(Digest, MatchesKnownAnswersAndSizes) {
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSha256, AsBytes("abc")).value()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSha1, AsBytes("abc")).value()),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  // GB/T 32905-2016 appendix A.1.
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSm3, AsBytes("abc")).value()),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  for (HashAlgorithm h : {HashAlgorithm::kSha1, HashAlgorithm::kSha224, HashAlgorithm::kSha256,
                          HashAlgorithm::kSha384, HashAlgorithm::kSha512, HashAlgorithm::kSm3}) {
    EXPECT_EQ(Digest(h, {}).value().size(), DigestSize(h));
  }
  EXPECT_EQ(DigestSize(HashAlgorithm::kSha384), 48u);
}

// ---------------------------------------------------------------------------------------------
// Signatures: every scheme and hash, RAW and DIGEST

struct SignCase {
  KeyPairType type;
  SignatureScheme scheme;
  HashAlgorithm hash;
};

std::vector<SignCase> AllSignCases() {
  std::vector<SignCase> cases;
  for (KeyPairType t : {KeyPairType::kRsa2048, KeyPairType::kRsa3072, KeyPairType::kRsa4096}) {
    for (HashAlgorithm h : kSha2) {
      cases.push_back({t, SignatureScheme::kRsaPss, h});
      cases.push_back({t, SignatureScheme::kRsaPkcs1v15, h});
    }
  }
  for (KeyPairType t : kEcTypes) {
    for (HashAlgorithm h : kSha2) {
      cases.push_back({t, SignatureScheme::kEcdsa, h});
    }
  }
  cases.push_back({KeyPairType::kEd25519, SignatureScheme::kEd25519, HashAlgorithm::kSha512});
  cases.push_back({KeyPairType::kSm2, SignatureScheme::kSm2, HashAlgorithm::kSm3});
  return cases;
}

std::string SignCaseName(const ::testing::TestParamInfo<SignCase>& info) {
  static const char* const kSchemes[] = {"Pss", "Pkcs1", "Ecdsa", "Ed25519", "Sm2"};
  static const char* const kHashes[] = {"Sha1", "Sha224", "Sha256", "Sha384", "Sha512", "Sm3"};
  return TypeName(info.param.type) + kSchemes[static_cast<int>(info.param.scheme)] +
         kHashes[static_cast<int>(info.param.hash)];
}

const char* OsslHashName(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return "SHA1";
    case HashAlgorithm::kSha224:
      return "SHA224";
    case HashAlgorithm::kSha256:
      return "SHA256";
    case HashAlgorithm::kSha384:
      return "SHA384";
    case HashAlgorithm::kSha512:
      return "SHA512";
    case HashAlgorithm::kSm3:
      return "SM3";
  }
  return nullptr;
}

// Verifies through OpenSSL's message API (EVP_DigestVerify), a different path from the
// digest-then-EVP_PKEY_verify that Scytale uses, with the PSS salt length pinned to the digest
// length as AWS documents.
bool OpensslVerifiesMessage(const PublicKey& key, SignatureScheme scheme, HashAlgorithm hash,
                            std::span<const uint8_t> msg, std::span<const uint8_t> sig) {
  internal::OsslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, OsslHashName(hash), nullptr, nullptr,
                              key.holder().pkey.get(), nullptr) != 1) {
    return false;
  }
  if (scheme == SignatureScheme::kRsaPss &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size()) == 1;
}

class EverySignCase : public ::testing::TestWithParam<SignCase> {};

TEST_P(EverySignCase, SignsAndVerifiesRawMessagesAndDigests) {
  const auto [type, scheme, hash] = GetParam();
  const PrivateKey& key = KeyFor(type);
  PublicKey pub = key.Public();
  Bytes msg(300);
  for (size_t i = 0; i < msg.size(); ++i) {
    msg[i] = static_cast<uint8_t>(i * 7);
  }
  auto sig = Sign(key, scheme, hash, msg, /*is_digest=*/false);
  ASSERT_THAT(sig, IsOk());
  EXPECT_TRUE(Verify(pub, scheme, hash, msg, false, *sig).value());
  // The public key through its DER form verifies too.
  PublicKey reparsed = PublicKey::FromDer(pub.ToDer().value()).value();
  EXPECT_TRUE(Verify(reparsed, scheme, hash, msg, false, *sig).value());

  if (scheme != SignatureScheme::kEd25519 && scheme != SignatureScheme::kSm2) {
    EXPECT_TRUE(OpensslVerifiesMessage(pub, scheme, hash, msg, *sig));
    // DIGEST is the same signature over the message's digest, never hashed again.
    Bytes digest = Digest(hash, msg).value();
    EXPECT_TRUE(Verify(pub, scheme, hash, digest, true, *sig).value());
    auto digest_sig = Sign(key, scheme, hash, digest, /*is_digest=*/true);
    ASSERT_THAT(digest_sig, IsOk());
    EXPECT_TRUE(Verify(pub, scheme, hash, msg, false, *digest_sig).value());
    EXPECT_TRUE(OpensslVerifiesMessage(pub, scheme, hash, msg, *digest_sig));
    // A digest is not a message: signing it as RAW signs its hash instead.
    EXPECT_FALSE(Verify(pub, scheme, hash, digest, false, *sig).value());
  }
  if (scheme == SignatureScheme::kSm2) {
    // SM2 DIGEST input is e = SM3(Z_A || M), computed by the caller as AWS documents.
    Bytes e = Digest(HashAlgorithm::kSm3, AsBytes("e")).value();
    auto digest_sig = Sign(key, scheme, hash, e, true);
    ASSERT_THAT(digest_sig, IsOk());
    EXPECT_TRUE(Verify(pub, scheme, hash, e, true, *digest_sig).value());
    e[0] ^= 1;
    EXPECT_FALSE(Verify(pub, scheme, hash, e, true, *digest_sig).value());
  }

  // Tampering anywhere in the signature, the message, or the length is caught.
  for (size_t i : {size_t{0}, sig->size() / 2, sig->size() - 1}) {
    Bytes tampered = *sig;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(Verify(pub, scheme, hash, msg, false, tampered).value()) << i;
  }
  Bytes other_msg = msg;
  other_msg[10] ^= 0x80;
  EXPECT_FALSE(Verify(pub, scheme, hash, other_msg, false, *sig).value());
  EXPECT_FALSE(
      Verify(pub, scheme, hash, msg, false, std::span(*sig).first(sig->size() - 1)).value());
  Bytes extended = *sig;
  extended.push_back(0);
  EXPECT_FALSE(Verify(pub, scheme, hash, msg, false, extended).value());
  EXPECT_FALSE(Verify(pub, scheme, hash, msg, false, {}).value());

  // Another key of the same type does not verify it.
  EXPECT_FALSE(Verify(OtherKeyFor(type).Public(), scheme, hash, msg, false, *sig).value());
}

TEST_P(EverySignCase, RefusesDigestsOfTheWrongLength) {
  const auto [type, scheme, hash] = GetParam();
  const PrivateKey& key = KeyFor(type);
  // (Ed25519 refuses DIGEST input of every length, the right one included.)
  for (size_t len : {DigestSize(hash) - 1, DigestSize(hash) + 1, size_t{0}}) {
    Bytes digest(len, 0xab);
    EXPECT_THAT(Sign(key, scheme, hash, digest, true), HasError(ErrorCode::kValidation)) << len;
    EXPECT_THAT(Verify(key.Public(), scheme, hash, digest, true, Bytes(64, 1)),
                HasError(ErrorCode::kValidation))
        << len;
  }
}

INSTANTIATE_TEST_SUITE_P(Asymmetric, EverySignCase, ::testing::ValuesIn(AllSignCases()),
                         SignCaseName);

TEST(Sign, RefusesSchemesAndHashesThatDoNotFitTheKey) {
  const Bytes msg = {1, 2, 3};
  const PrivateKey& rsa = KeyFor(KeyPairType::kRsa2048);
  const PrivateKey& ec = KeyFor(KeyPairType::kEcP256);
  const PrivateKey& ed = KeyFor(KeyPairType::kEd25519);
  const PrivateKey& sm2 = KeyFor(KeyPairType::kSm2);
  struct Case {
    const PrivateKey* key;
    SignatureScheme scheme;
    HashAlgorithm hash;
  };
  const Case cases[] = {
      {&rsa, SignatureScheme::kEcdsa, HashAlgorithm::kSha256},
      {&rsa, SignatureScheme::kEd25519, HashAlgorithm::kSha512},
      {&rsa, SignatureScheme::kRsaPss, HashAlgorithm::kSha1},
      {&rsa, SignatureScheme::kRsaPkcs1v15, HashAlgorithm::kSm3},
      {&ec, SignatureScheme::kRsaPss, HashAlgorithm::kSha256},
      {&ec, SignatureScheme::kSm2, HashAlgorithm::kSm3},
      {&ec, SignatureScheme::kEcdsa, HashAlgorithm::kSha1},
      {&ed, SignatureScheme::kEd25519, HashAlgorithm::kSha256},
      {&ed, SignatureScheme::kEcdsa, HashAlgorithm::kSha512},
      {&sm2, SignatureScheme::kEcdsa, HashAlgorithm::kSha256},
      {&sm2, SignatureScheme::kSm2, HashAlgorithm::kSha256},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(Sign(*c.key, c.scheme, c.hash, msg, false), HasError(ErrorCode::kValidation));
    EXPECT_THAT(Verify(c.key->Public(), c.scheme, c.hash, msg, false, Bytes(64, 1)),
                HasError(ErrorCode::kValidation));
  }
}

TEST(EdDsa, RefusesDigestInput) {
  const PrivateKey& key = KeyFor(KeyPairType::kEd25519);
  Bytes digest(64, 1);
  EXPECT_THAT(Sign(key, SignatureScheme::kEd25519, HashAlgorithm::kSha512, digest, true),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(Verify(key.Public(), SignatureScheme::kEd25519, HashAlgorithm::kSha512, digest, true,
                     Bytes(64, 1)),
              HasError(ErrorCode::kValidation));
}

// RFC 8032 section 7.1, TEST 1 and TEST 3: signing is deterministic, so the signature is known.
TEST(EdDsa, MatchesRfc8032KnownAnswers) {
  struct Vector {
    const char* seed;
    const char* pub;
    const char* msg;
    const char* sig;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
       "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
       "984dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const auto& v : vectors) {
    // PKCS#8 for Ed25519 (RFC 8410): the 32-byte seed in an OCTET STRING.
    SecretBytes pkcs8(Hex(std::string("302e020100300506032b657004220420") + v.seed));
    auto key = PrivateKey::FromPkcs8(pkcs8);
    ASSERT_THAT(key, IsOk());
    EXPECT_EQ(key->type(), KeyPairType::kEd25519);
    EXPECT_EQ(HexEncode(key->Public().ToDer().value()),
              std::string("302a300506032b6570032100") + v.pub);
    Bytes msg = Hex(v.msg);
    EXPECT_EQ(
        HexEncode(
            Sign(*key, SignatureScheme::kEd25519, HashAlgorithm::kSha512, msg, false).value()),
        v.sig);
    PublicKey raw = PublicKey::FromRawEd25519(Hex(v.pub)).value();
    EXPECT_TRUE(
        Verify(raw, SignatureScheme::kEd25519, HashAlgorithm::kSha512, msg, false, Hex(v.sig))
            .value());
  }
  EXPECT_THAT(PublicKey::FromRawEd25519(Bytes(31, 1)), HasError(ErrorCode::kValidation));
}

// PrivateKey and PublicKey are shared across request threads: concurrent use of one key.
TEST(Sign, OneKeyServesManyThreadsAtOnce) {
  const PrivateKey& key = KeyFor(KeyPairType::kEcP256);
  PublicKey pub = key.Public();
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        Bytes msg = {static_cast<uint8_t>(t), static_cast<uint8_t>(i)};
        auto sig = Sign(key, SignatureScheme::kEcdsa, HashAlgorithm::kSha256, msg, false);
        if (sig.has_value() &&
            Verify(pub, SignatureScheme::kEcdsa, HashAlgorithm::kSha256, msg, false, *sig)
                .value_or(false)) {
          ++verified;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(verified.load(), 8 * 50);
}

// ---------------------------------------------------------------------------------------------
// RSA-OAEP

struct OaepCase {
  KeyPairType type;
  HashAlgorithm hash;
  size_t max_plaintext;  // RFC 8017 7.1.1: k - 2 hLen - 2
};

class EveryOaepCase : public ::testing::TestWithParam<OaepCase> {};

TEST_P(EveryOaepCase, EncryptsUpToTheDocumentedLimitAndDecrypts) {
  const auto [type, hash, max_plaintext] = GetParam();
  const PrivateKey& key = KeyFor(type);
  PublicKey pub = key.Public();
  EXPECT_EQ(RsaOaepMaxPlaintext(pub, hash), max_plaintext);

  for (size_t len : {size_t{0}, size_t{1}, size_t{32}, max_plaintext}) {
    Bytes plaintext(len, 0x5a);
    auto ct = RsaOaepEncrypt(pub, hash, plaintext);
    ASSERT_THAT(ct, IsOk()) << len;
    EXPECT_EQ(ct->size(), static_cast<size_t>(EVP_PKEY_get_size(pub.holder().pkey.get())));
    auto pt = RsaOaepDecrypt(key, hash, *ct);
    ASSERT_THAT(pt, IsOk()) << len;
    EXPECT_EQ(HexOf(*pt), HexEncode(plaintext));
  }
  EXPECT_THAT(RsaOaepEncrypt(pub, hash, Bytes(max_plaintext + 1, 1)),
              HasError(ErrorCode::kValidation));

  // Randomised: two encryptions differ.
  Bytes ct = RsaOaepEncrypt(pub, hash, AsBytes("data key")).value();
  EXPECT_NE(RsaOaepEncrypt(pub, hash, AsBytes("data key")).value(), ct);

  for (size_t i : {size_t{0}, ct.size() / 2, ct.size() - 1}) {
    Bytes tampered = ct;
    tampered[i] ^= 0x01;
    EXPECT_THAT(RsaOaepDecrypt(key, hash, tampered), HasError(ErrorCode::kInvalidCiphertext));
  }
  EXPECT_THAT(RsaOaepDecrypt(key, hash, std::span(ct).first(ct.size() - 1)),
              HasError(ErrorCode::kInvalidCiphertext));
  Bytes extended = ct;
  extended.insert(extended.begin(), 0);
  EXPECT_THAT(RsaOaepDecrypt(key, hash, extended), HasError(ErrorCode::kInvalidCiphertext));
  EXPECT_THAT(RsaOaepDecrypt(key, hash, {}), HasError(ErrorCode::kInvalidCiphertext));
  HashAlgorithm other_hash =
      hash == HashAlgorithm::kSha1 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha1;
  EXPECT_THAT(RsaOaepDecrypt(key, other_hash, ct), HasError(ErrorCode::kInvalidCiphertext));
  EXPECT_THAT(RsaOaepDecrypt(OtherKeyFor(type), hash, ct), HasError(ErrorCode::kInvalidCiphertext));
}

INSTANTIATE_TEST_SUITE_P(
    Asymmetric, EveryOaepCase,
    ::testing::Values(OaepCase{KeyPairType::kRsa2048, HashAlgorithm::kSha1, 214},
                      OaepCase{KeyPairType::kRsa2048, HashAlgorithm::kSha256, 190},
                      OaepCase{KeyPairType::kRsa3072, HashAlgorithm::kSha1, 342},
                      OaepCase{KeyPairType::kRsa3072, HashAlgorithm::kSha256, 318},
                      OaepCase{KeyPairType::kRsa4096, HashAlgorithm::kSha1, 470},
                      OaepCase{KeyPairType::kRsa4096, HashAlgorithm::kSha256, 446}),
    [](const auto& info) {
      return TypeName(info.param.type) +
             (info.param.hash == HashAlgorithm::kSha1 ? "Sha1" : "Sha256");
    });

TEST(RsaOaep, RefusesOtherHashesAndNonRsaKeys) {
  const PrivateKey& rsa = KeyFor(KeyPairType::kRsa2048);
  const PrivateKey& ec = KeyFor(KeyPairType::kEcP256);
  EXPECT_THAT(RsaOaepEncrypt(rsa.Public(), HashAlgorithm::kSha384, AsBytes("x")),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(RsaOaepDecrypt(rsa, HashAlgorithm::kSha512, Bytes(256, 1)),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(RsaOaepEncrypt(ec.Public(), HashAlgorithm::kSha256, AsBytes("x")),
              HasError(ErrorCode::kValidation));
  EXPECT_THAT(RsaOaepDecrypt(ec, HashAlgorithm::kSha256, Bytes(256, 1)),
              HasError(ErrorCode::kValidation));
  EXPECT_EQ(RsaOaepMaxPlaintext(ec.Public(), HashAlgorithm::kSha256), 0u);
  EXPECT_EQ(RsaOaepMaxPlaintext(rsa.Public(), HashAlgorithm::kSha512), 0u);
}

// ---------------------------------------------------------------------------------------------
// ECDH

class EveryEcdhCurve : public ::testing::TestWithParam<KeyPairType> {};

TEST_P(EveryEcdhCurve, TwoKeysAgreeBothWays) {
  const PrivateKey& alice = KeyFor(GetParam());
  PrivateKey bob = PrivateKey::Generate(GetParam()).value();
  auto ab = Ecdh(alice, bob.Public());
  auto ba = Ecdh(bob, alice.Public());
  ASSERT_THAT(ab, IsOk());
  ASSERT_THAT(ba, IsOk());
  EXPECT_TRUE(*ab == *ba);
  size_t field_bytes = GetParam() == KeyPairType::kEcP384   ? 48
                       : GetParam() == KeyPairType::kEcP521 ? 66
                                                            : 32;
  EXPECT_EQ(ab->size(), field_bytes);
  // The peer key through its DER form gives the same secret.
  PublicKey reparsed = PublicKey::FromDer(bob.Public().ToDer().value()).value();
  EXPECT_TRUE(Ecdh(alice, reparsed).value() == *ab);
  // A third party gets another secret.
  PrivateKey carol = PrivateKey::Generate(GetParam()).value();
  EXPECT_FALSE(Ecdh(carol, bob.Public()).value() == *ab);
}

TEST_P(EveryEcdhCurve, RefusesPeersOnOtherCurvesOrOfOtherTypes) {
  const PrivateKey& key = KeyFor(GetParam());
  for (KeyPairType other : kAllTypes) {
    if (other == GetParam()) {
      continue;
    }
    EXPECT_THAT(Ecdh(key, KeyFor(other).Public()), HasError(ErrorCode::kValidation))
        << TypeName(other);
  }
}

INSTANTIATE_TEST_SUITE_P(Asymmetric, EveryEcdhCurve, ::testing::ValuesIn(kEcTypes),
                         [](const auto& info) { return TypeName(info.param); });

TEST(Ecdh, RefusesKeysThatDoNotAgree) {
  const PublicKey peer = KeyFor(KeyPairType::kEcP256).Public();
  EXPECT_THAT(Ecdh(KeyFor(KeyPairType::kRsa2048), peer), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Ecdh(KeyFor(KeyPairType::kEd25519), peer), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Ecdh(KeyFor(KeyPairType::kSm2), KeyFor(KeyPairType::kSm2).Public()),
              HasError(ErrorCode::kUnsupportedOperation));
}

// ---------------------------------------------------------------------------------------------
// HMAC

// RFC 4231 test case 2 (key "Jefe").
TEST(Hmac, MatchesRfc4231AndVerifiesOnlyFullTags) {
  struct Vector {
    HashAlgorithm hash;
    const char* tag;
  };
  const Vector vectors[] = {
      {HashAlgorithm::kSha224, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
      {HashAlgorithm::kSha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {HashAlgorithm::kSha384,
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ec"
       "fab21649"},
      {HashAlgorithm::kSha512,
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65"
       "f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
  };
  SecretBytes key(AsBytes("Jefe"));
  const auto msg = AsBytes("what do ya want for nothing?");
  for (const auto& v : vectors) {
    Bytes tag = Hmac(v.hash, key, msg).value();
    EXPECT_EQ(HexEncode(tag), v.tag);
    EXPECT_TRUE(HmacVerify(v.hash, key, msg, tag).value());
    EXPECT_FALSE(HmacVerify(v.hash, key, msg, std::span(tag).first(tag.size() - 1)).value());
    EXPECT_FALSE(HmacVerify(v.hash, key, msg, {}).value());
    for (size_t i = 0; i < tag.size(); ++i) {
      Bytes tampered = tag;
      tampered[i] ^= 0x01;
      EXPECT_FALSE(HmacVerify(v.hash, key, msg, tampered).value()) << i;
    }
    EXPECT_FALSE(HmacVerify(v.hash, key, AsBytes("what do ya want for nothing!"), tag).value());
    EXPECT_FALSE(HmacVerify(v.hash, SecretBytes(AsBytes("Jeff")), msg, tag).value());
  }
}

TEST(Hmac, TakesEmptyKeysAndMessages) {
  SecretBytes empty;
  EXPECT_EQ(HexEncode(Hmac(HashAlgorithm::kSha256, empty, {}).value()),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_TRUE(HmacVerify(HashAlgorithm::kSha256, empty, {},
                         Hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"))
                  .value());
  auto long_key = RandomSecret(200).value();
  EXPECT_EQ(Hmac(HashAlgorithm::kSha512, long_key, {}).value().size(), 64u);
}

TEST(Hmac, RefusesHashesOutsideSha2) {
  SecretBytes key(AsBytes("k"));
  EXPECT_THAT(Hmac(HashAlgorithm::kSha1, key, AsBytes("m")), HasError(ErrorCode::kValidation));
  EXPECT_THAT(Hmac(HashAlgorithm::kSm3, key, AsBytes("m")), HasError(ErrorCode::kValidation));
  EXPECT_THAT(HmacVerify(HashAlgorithm::kSha1, key, AsBytes("m"), Bytes(20, 0)),
              HasError(ErrorCode::kValidation));
}

// ---------------------------------------------------------------------------------------------
// Wycheproof: every vector of every file. "valid" must pass, "invalid" must fail,
// "acceptable" may do either (when it passes, its output must still be right). Each file's
// counts are asserted against the numbers the file declares, so no file can run zero vectors.

nlohmann::json LoadWycheproof(const std::string& name) {
  std::ifstream in(std::string(SCY_TESTDATA_DIR) + "/wycheproof/" + name);
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

HashAlgorithm HashFromName(const std::string& name) {
  static const std::map<std::string, HashAlgorithm> kNames = {
      {"SHA-1", HashAlgorithm::kSha1},     {"SHA-224", HashAlgorithm::kSha224},
      {"SHA-256", HashAlgorithm::kSha256}, {"SHA-384", HashAlgorithm::kSha384},
      {"SHA-512", HashAlgorithm::kSha512},
  };
  auto it = kNames.find(name);
  if (it == kNames.end()) {
    ADD_FAILURE() << "unknown hash " << name;
    return HashAlgorithm::kSha256;
  }
  return it->second;
}

struct WycheproofFile {
  std::string name;
  int valid;
  int invalid;
  int acceptable;
};

struct Tally {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int acceptable_passed = 0;
  // Vectors not run, by reason; they still count toward the file's total.
  std::map<std::string, int> skipped;

  void Count(const std::string& result, bool passed) {
    if (result == "valid") {
      ++valid;
    } else if (result == "invalid") {
      ++invalid;
    } else {
      EXPECT_EQ(result, "acceptable");
      ++acceptable;
      acceptable_passed += passed ? 1 : 0;
    }
  }

  void Check(const WycheproofFile& file, const nlohmann::json& doc) const {
    int skipped_total = 0;
    std::string skipped_text;
    for (const auto& [reason, n] : skipped) {
      skipped_total += n;
      skipped_text += " skipped(" + reason + ")=" + std::to_string(n);
    }
    EXPECT_EQ(valid + invalid + acceptable + skipped_total, doc["numberOfTests"].get<int>());
    EXPECT_EQ(valid, file.valid);
    EXPECT_EQ(invalid, file.invalid);
    EXPECT_EQ(acceptable, file.acceptable);
    EXPECT_GT(valid, 0);
    EXPECT_GT(invalid, 0);
    std::cout << "[wycheproof] " << file.name << ": valid=" << valid << " invalid=" << invalid
              << " acceptable=" << acceptable << " (passed " << acceptable_passed << ")"
              << skipped_text << "\n";
  }
};

template <class File>
std::string FileName(const ::testing::TestParamInfo<File>& info) {
  std::string out;
  for (char c : info.param.name.substr(0, info.param.name.find("_test.json"))) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return out;
}

// Expects `ok` (whether the operation accepted the vector) to match the vector's result.
void ExpectOutcome(const nlohmann::json& t, bool ok) {
  if (t["result"] == "valid") {
    EXPECT_TRUE(ok) << "valid vector rejected: " << t["comment"];
  } else if (t["result"] == "invalid") {
    EXPECT_FALSE(ok) << "invalid vector accepted: " << t["comment"];
  }
}

// --- Signatures (RSA PKCS#1 v1.5, RSA-PSS, ECDSA, Ed25519) ---

struct SignatureFile : WycheproofFile {
  SignatureScheme scheme;
};

class WycheproofSignature : public ::testing::TestWithParam<SignatureFile> {};

TEST_P(WycheproofSignature, PassesEveryVector) {
  const SignatureFile& file = GetParam();
  auto doc = LoadWycheproof(file.name);
  Tally tally;
  for (const auto& group : doc["testGroups"]) {
    HashAlgorithm hash = file.scheme == SignatureScheme::kEd25519
                             ? HashAlgorithm::kSha512
                             : HashFromName(group["sha"].get<std::string>());
    if (file.scheme == SignatureScheme::kRsaPss) {
      // Scytale's PSS is MGF1 with the message hash and salt length = digest length (AWS).
      ASSERT_EQ(group["mgfSha"], group["sha"]);
      ASSERT_EQ(group["sLen"].get<size_t>(), DigestSize(hash));
    }
    auto key = PublicKey::FromDer(HexField(group, "publicKeyDer"));
    ASSERT_THAT(key, IsOk()) << "group key does not parse";
    if (file.scheme == SignatureScheme::kEd25519) {
      // The raw form of the same key gives the same key.
      auto raw = PublicKey::FromRawEd25519(HexField(group["publicKey"], "pk"));
      ASSERT_THAT(raw, IsOk());
      EXPECT_EQ(raw->ToDer().value(), key->ToDer().value());
    }
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE(::testing::Message() << file.name << " tcId " << t["tcId"].get<int>());
      Bytes msg = HexField(t, "msg");
      Bytes sig = HexField(t, "sig");
      auto verified = Verify(*key, file.scheme, hash, msg, /*is_digest=*/false, sig);
      ASSERT_THAT(verified, IsOk());
      ExpectOutcome(t, *verified);
      if (file.scheme != SignatureScheme::kEd25519) {
        // The same vector through DIGEST input.
        auto by_digest = Verify(*key, file.scheme, hash, Digest(hash, msg).value(), true, sig);
        ASSERT_THAT(by_digest, IsOk());
        EXPECT_EQ(*by_digest, *verified);
      }
      tally.Count(t["result"].get<std::string>(), *verified);
    }
  }
  tally.Check(file, doc);
}

INSTANTIATE_TEST_SUITE_P(
    Asymmetric, WycheproofSignature,
    ::testing::Values(
        SignatureFile{{"rsa_signature_2048_sha256_test.json", 9, 249, 1},
                      SignatureScheme::kRsaPkcs1v15},
        SignatureFile{{"rsa_signature_2048_sha384_test.json", 7, 250, 1},
                      SignatureScheme::kRsaPkcs1v15},
        SignatureFile{{"rsa_signature_2048_sha512_test.json", 8, 250, 1},
                      SignatureScheme::kRsaPkcs1v15},
        SignatureFile{{"rsa_pss_2048_sha256_mgf1_32_test.json", 63, 45, 0},
                      SignatureScheme::kRsaPss},
        SignatureFile{{"rsa_pss_2048_sha384_mgf1_48_test.json", 95, 46, 0},
                      SignatureScheme::kRsaPss},
        SignatureFile{{"rsa_pss_4096_sha512_mgf1_64_test.json", 132, 47, 0},
                      SignatureScheme::kRsaPss},
        SignatureFile{{"ecdsa_secp256r1_sha256_test.json", 174, 310, 0}, SignatureScheme::kEcdsa},
        SignatureFile{{"ecdsa_secp384r1_sha384_test.json", 194, 310, 0}, SignatureScheme::kEcdsa},
        SignatureFile{{"ecdsa_secp521r1_sha512_test.json", 232, 310, 0}, SignatureScheme::kEcdsa},
        SignatureFile{{"ecdsa_secp256k1_sha256_test.json", 168, 308, 0}, SignatureScheme::kEcdsa},
        SignatureFile{{"ed25519_test.json", 88, 63, 0}, SignatureScheme::kEd25519}),
    FileName<SignatureFile>);

// --- RSA-OAEP decryption ---

class WycheproofRsaOaep : public ::testing::TestWithParam<WycheproofFile> {};

TEST_P(WycheproofRsaOaep, PassesEveryVector) {
  const WycheproofFile& file = GetParam();
  auto doc = LoadWycheproof(file.name);
  Tally tally;
  for (const auto& group : doc["testGroups"]) {
    HashAlgorithm hash = HashFromName(group["sha"].get<std::string>());
    ASSERT_EQ(group["mgfSha"], group["sha"]);
    auto key = PrivateKey::FromPkcs8(SecretBytes(HexField(group, "privateKeyPkcs8")));
    ASSERT_THAT(key, IsOk());
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE(::testing::Message() << file.name << " tcId " << t["tcId"].get<int>());
      Bytes label = HexField(t, "label");
      Bytes ct = HexField(t, "ct");
      // Scytale uses the empty label; vectors with a label go through the internal entry point
      // with the same code path.
      auto pt = label.empty() ? RsaOaepDecrypt(*key, hash, ct)
                              : internal::RsaOaepDecryptWithLabel(*key, hash, label, ct);
      ExpectOutcome(t, pt.has_value());
      if (pt.has_value()) {
        EXPECT_EQ(HexOf(*pt), t["msg"].get<std::string>());
        if (label.empty()) {
          // Our own encryption of the message decrypts to it.
          Bytes again = RsaOaepEncrypt(key->Public(), hash, HexField(t, "msg")).value();
          EXPECT_EQ(HexOf(RsaOaepDecrypt(*key, hash, again).value()), t["msg"].get<std::string>());
        } else {
          // Without its label, the ciphertext does not decrypt.
          EXPECT_THAT(RsaOaepDecrypt(*key, hash, ct), HasError(ErrorCode::kInvalidCiphertext));
        }
      } else {
        EXPECT_EQ(pt.error().code, ErrorCode::kInvalidCiphertext);
      }
      tally.Count(t["result"].get<std::string>(), pt.has_value());
    }
  }
  tally.Check(file, doc);
}

INSTANTIATE_TEST_SUITE_P(
    Asymmetric, WycheproofRsaOaep,
    ::testing::Values(WycheproofFile{"rsa_oaep_2048_sha1_mgf1sha1_test.json", 17, 19, 0},
                      WycheproofFile{"rsa_oaep_2048_sha256_mgf1sha256_test.json", 18, 19, 0}),
    FileName<WycheproofFile>);

// --- ECDH: public keys as DER SubjectPublicKeyInfo, private keys as scalars ---

struct EcdhFile : WycheproofFile {
  KeyPairType type;
};

class WycheproofEcdh : public ::testing::TestWithParam<EcdhFile> {};

TEST_P(WycheproofEcdh, PassesEveryVector) {
  const EcdhFile& file = GetParam();
  auto doc = LoadWycheproof(file.name);
  Tally tally;
  int compressed_accepted = 0;
  for (const auto& group : doc["testGroups"]) {
    ASSERT_EQ(group["encoding"], "asn");
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE(::testing::Message() << file.name << " tcId " << t["tcId"].get<int>());
      // Wycheproof writes scalars as signed big-endian integers (a leading 00 byte at times).
      auto key = PrivateKey::FromEcScalar(file.type, HexField(t, "private"));
      ASSERT_THAT(key, IsOk());
      auto peer = PublicKey::FromDer(HexField(t, "public"));
      Result<SecretBytes> shared =
          peer.has_value() ? Ecdh(*key, *peer) : Result<SecretBytes>(peer.error());
      ExpectOutcome(t, shared.has_value());
      if (shared.has_value()) {
        EXPECT_EQ(HexOf(*shared), t["shared"].get<std::string>());
        const auto& flags = t["flags"];
        if (std::find(flags.begin(), flags.end(), "CompressedPublic") != flags.end()) {
          ++compressed_accepted;
        }
      } else {
        EXPECT_EQ(shared.error().code, ErrorCode::kValidation);
      }
      tally.Count(t["result"].get<std::string>(), shared.has_value());
    }
  }
  tally.Check(file, doc);
  std::cout << "[wycheproof] " << file.name
            << ": compressed public keys accepted=" << compressed_accepted << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Asymmetric, WycheproofEcdh,
    ::testing::Values(EcdhFile{{"ecdh_secp256r1_test.json", 330, 52, 230}, KeyPairType::kEcP256},
                      EcdhFile{{"ecdh_secp384r1_test.json", 771, 46, 230}, KeyPairType::kEcP384},
                      EcdhFile{{"ecdh_secp521r1_test.json", 632, 56, 228}, KeyPairType::kEcP521},
                      EcdhFile{{"ecdh_secp256k1_test.json", 473, 49, 230},
                               KeyPairType::kEcSecp256k1}),
    FileName<EcdhFile>);

// --- HMAC ---

struct HmacFile : WycheproofFile {
  HashAlgorithm hash;
};

class WycheproofHmac : public ::testing::TestWithParam<HmacFile> {};

// HmacVerify takes full-length tags only. A vector with a truncated tag (tagSize below the hash
// size) still runs: a valid one must equal the prefix of Hmac's output and must NOT verify as a
// full tag; an invalid one must match neither.
TEST_P(WycheproofHmac, PassesEveryVector) {
  const HmacFile& file = GetParam();
  auto doc = LoadWycheproof(file.name);
  Tally tally;
  int truncated = 0;
  for (const auto& group : doc["testGroups"]) {
    size_t tag_bytes = group["tagSize"].get<size_t>() / 8;
    for (const auto& t : group["tests"]) {
      SCOPED_TRACE(::testing::Message() << file.name << " tcId " << t["tcId"].get<int>());
      SecretBytes key(HexField(t, "key"));
      Bytes msg = HexField(t, "msg");
      Bytes tag = HexField(t, "tag");
      Bytes full = Hmac(file.hash, key, msg).value();
      bool verified = HmacVerify(file.hash, key, msg, tag).value();
      if (tag_bytes == DigestSize(file.hash)) {
        ExpectOutcome(t, verified);
        if (t["result"] == "valid") {
          EXPECT_EQ(HexEncode(full), HexEncode(tag));
        }
      } else {
        ++truncated;
        EXPECT_FALSE(verified) << "a truncated tag verified";
        bool prefix_matches = ConstantTimeEquals(std::span(full).first(tag.size()), tag);
        ExpectOutcome(t, prefix_matches);
      }
      tally.Count(t["result"].get<std::string>(), verified);
    }
  }
  tally.Check(file, doc);
  EXPECT_GT(truncated, 0);
  std::cout << "[wycheproof] " << file.name << ": of which truncated-tag vectors=" << truncated
            << " (must not verify; their prefix checked)\n";
}

INSTANTIATE_TEST_SUITE_P(
    Asymmetric, WycheproofHmac,
    ::testing::Values(HmacFile{{"hmac_sha224_test.json", 66, 106, 0}, HashAlgorithm::kSha224},
                      HmacFile{{"hmac_sha256_test.json", 66, 108, 0}, HashAlgorithm::kSha256},
                      HmacFile{{"hmac_sha384_test.json", 66, 108, 0}, HashAlgorithm::kSha384},
                      HmacFile{{"hmac_sha512_test.json", 66, 108, 0}, HashAlgorithm::kSha512}),
    FileName<HmacFile>);

}  // namespace
}  // namespace scytale::crypto
