#include <gtest/gtest.h>

#include <fstream>

#include "autotimm/config.hpp"
#include "autotimm/error.hpp"
#include "support/error_text.hpp"
#include "support/temp_dir.hpp"

namespace autotimm {
namespace {

TEST(Config, ReadsTypedValuesWithDefaults) {
  auto cfg = Config::parse(R"({"lr": 0.1, "epochs": 3, "name": "run", "amp": true, "sizes": [1, 2],
                              "mean": [0.5, 1], "tags": ["a"], "whole": 4.0})");
  EXPECT_DOUBLE_EQ(cfg.get<double>("lr", 1.0), 0.1);
  EXPECT_FLOAT_EQ(cfg.get<float>("lr", 1.0f), 0.1f);
  EXPECT_EQ(cfg.get<int>("epochs", 0), 3);
  EXPECT_EQ(cfg.get<std::int64_t>("whole", 0), 4);
  EXPECT_DOUBLE_EQ(cfg.get<double>("epochs", 0.0), 3.0);
  EXPECT_EQ(cfg.get<std::string>("name", ""), "run");
  EXPECT_TRUE(cfg.get<bool>("amp", false));
  EXPECT_EQ(cfg.get<std::vector<std::int64_t>>("sizes", {}), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(cfg.get<std::vector<double>>("mean", {}), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(cfg.get<std::vector<std::string>>("tags", {}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(cfg.get<int>("absent", 7), 7);
  EXPECT_EQ(cfg.get_optional<int>("absent"), std::nullopt);
  EXPECT_NO_THROW(cfg.expect_all_used());
}

TEST(Config, NamesTheKeyAndBothTypesOnAWrongType) {
  auto cfg = Config::parse(R"({"lr": "fast", "epochs": 2.5, "big": 9999999999})", "train.json");
  EXPECT_EQ(testing::error_text([&] { cfg.get<double>("lr", 0.0); }),
            "option 'lr' in train.json: expected number, got string \"fast\"");
  EXPECT_EQ(testing::error_text([&] { cfg.get<int>("epochs", 0); }),
            "option 'epochs' in train.json: expected integer (32-bit), got number 2.5E0");
  EXPECT_EQ(testing::error_text([&] { cfg.get<int>("big", 0); }),
            "option 'big' in train.json: expected integer (32-bit), got integer 9999999999");
  EXPECT_THROW(cfg.get<int>("lr", 0), ConfigError);
}

TEST(Config, RequireNamesTheMissingKey) {
  auto cfg = Config::parse(R"({"optimizer": {"name": "sgd"}})", "train.json");
  EXPECT_EQ(testing::error_text([&] { cfg.section("optimizer").require<double>("lr"); }),
            "option 'optimizer.lr' in train.json is required: expected number; add it");
}

TEST(Config, UnknownKeySuggestsTheClosestValidOne) {
  auto cfg = Config::parse(R"({"lerning_rate": 0.1, "epochs": 3})", "train.json");
  cfg.get<double>("learning_rate", 1e-3);
  cfg.get<int>("epochs", 1);
  cfg.get<int>("batch_size", 32);
  EXPECT_EQ(testing::error_text([&] { cfg.expect_all_used(); }),
            "unknown option 'lerning_rate' in train.json; did you mean 'learning_rate'? (valid options: batch_size, "
            "epochs, learning_rate)");
  EXPECT_THROW(cfg.expect_all_used(), ConfigError);
}

TEST(Config, ChecksNestedSectionsAndReportsEveryUnknownKey) {
  auto cfg = Config::parse(R"({"optimizer": {"name": "sgd", "momentm": 0.9}, "extra": 1})", "app.json");
  auto optimizer = cfg.section("optimizer");
  optimizer.get<std::string>("name", "adamw");
  optimizer.get<double>("momentum", 0.0);
  const auto message = testing::error_text([&] { cfg.expect_all_used(); });
  EXPECT_NE(message.find("unknown option 'optimizer.momentm' in app.json; did you mean 'optimizer.momentum'?"),
            std::string::npos) << message;
  EXPECT_NE(message.find("unknown option 'extra' in app.json (valid options: optimizer)"), std::string::npos)
      << message;
}

TEST(Config, ASectionNobodyReadIsStillChecked) {
  auto cfg = Config::parse(R"({"scheduler": {"warmup": 3}})");
  cfg.section("scheduler");
  EXPECT_EQ(testing::error_text([&] { cfg.expect_all_used(); }),
            "unknown option 'scheduler.warmup' in <string> (this section accepts no options)");
}

TEST(Config, RawAndAcceptMarkKeysAsUsed) {
  auto cfg = Config::parse(R"({"model_args": {"anything": [1, {"x": 2}]}, "comment": "kept"})");
  EXPECT_TRUE(cfg.raw("model_args").is_object());
  cfg.accept("comment");
  EXPECT_NO_THROW(cfg.expect_all_used());
  EXPECT_TRUE(cfg.raw("absent").is_null());
}

TEST(Config, SectionMustBeAnObject) {
  auto cfg = Config::parse(R"({"optimizer": 3})");
  EXPECT_EQ(testing::error_text([&] { cfg.section("optimizer"); }),
            "option 'optimizer' in <string>: expected an object, got integer 3");
}

TEST(Config, ParseErrorsSayWhere) {
  EXPECT_EQ(testing::error_text([] { Config::parse("{\n  \"a\": 1,\n  \"b\" 2\n}", "bad.json"); }).substr(0, 44),
            "invalid JSON in 'bad.json' at line 3, column");
  EXPECT_EQ(testing::error_text([] { Config::parse("[1, 2]", "list.json"); }),
            "invalid options in 'list.json': expected a JSON object, got array");
  EXPECT_THROW(Config::parse(std::string(1000, '['), "deep.json"), FormatError);
}

TEST(Config, ReadsFilesAndNamesMissingOnes) {
  testing::TempDir dir;
  std::ofstream(dir / "opts.json") << R"({"epochs": 5})";
  auto cfg = Config::from_file(dir / "opts.json");
  EXPECT_EQ(cfg.get<int>("epochs", 0), 5);
  EXPECT_EQ(cfg.source(), (dir / "opts.json").string());
  const auto message = testing::error_text([&] { Config::from_file(dir / "absent.json"); });
  EXPECT_NE(message.find("cannot read options file '" + (dir / "absent.json").string() + "'"), std::string::npos)
      << message;
  EXPECT_THROW(Config::from_file(dir / "absent.json"), IoError);
}

}  // namespace
}  // namespace autotimm
