#include "common/json_text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace scytale {
namespace {

std::string Nlohmann(std::string_view s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Ours(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(JsonText, StringsAreWrittenAsNlohmannDumpsThem) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) {
    every_ascii += static_cast<char>(c);
  }
  for (std::string_view s :
       {std::string_view(""), std::string_view("plain"), std::string_view("q\"uo\\te"),
        std::string_view("\x01\x1f\x7f\b\t\n\f\r", 8), std::string_view(every_ascii),
        std::string_view("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),  // valid UTF-8
        std::string_view("bad \xff\xfe utf-8 \xc3"),                    // invalid UTF-8
        std::string_view("nul \0 inside", 12)}) {
    EXPECT_EQ(Ours(s), Nlohmann(s)) << Nlohmann(s);
    std::optional<size_t> size = AsciiJsonStringSize(s);
    bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; });
    EXPECT_EQ(size.has_value(), ascii);
    if (size) {
      EXPECT_EQ(*size, Ours(s).size());
    }
    std::string ascii_only = "x";
    EXPECT_EQ(AppendAsciiJsonString(ascii_only, s), ascii);
    EXPECT_EQ(ascii_only, ascii ? "x" + Ours(s) : "x");
  }
}

TEST(JsonText, ObjectWriterMatchesASortedNlohmannObject) {
  std::string out;
  JsonObjectWriter w(out);
  w.Key("a").String("x\ny");
  w.Key("b").Bool(true);
  w.Key("c").Int(-42);
  w.Key("d").StringOrNull("");
  w.Key("e").StringOrNull("v");
  w.Key("f").Raw(R"({"k":[1,2]})");
  w.Key("g").Null();
  w.End();
  nlohmann::json expected = {{"a", "x\ny"},  {"b", true}, {"c", -42},
                             {"d", nullptr}, {"e", "v"},  {"f", {{"k", {1, 2}}}},
                             {"g", nullptr}};
  EXPECT_EQ(out, expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace
}  // namespace scytale
