#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "autotimm/error.hpp"
#include "autotimm/plugin_loader.hpp"
#include "autotimm/registry.hpp"
#include "autotimm/config.hpp"
#include "memory_logger.hpp"
#include "support/temp_dir.hpp"

extern "C" const autotimm::PluginDescriptor* autotimm_plugin_descriptor_good() noexcept;

namespace autotimm {
namespace {

namespace fs = std::filesystem;
using testing::MemoryLogger;
using testing::TempDir;

const fs::path kFixtures = AUTOTIMM_TEST_PLUGIN_FIXTURES;

fs::path fixture(const std::string& name) { return kFixtures / ("libautotimm_logger_" + name + ".so"); }

// Copies fixture libraries into `dir` (optionally under another file name) so each test sees only what it needs.
fs::path stage(const TempDir& dir, const std::string& name, const std::string& as = "") {
  const fs::path target = dir / ("libautotimm_logger_" + (as.empty() ? name : as) + ".so");
  fs::copy_file(fixture(name), target, fs::copy_options::overwrite_existing);
  return fs::canonical(target);
}

// Stages one fixture in a fresh folder and loads it into `registry`; returns the record and the staged path.
struct Loaded {
  TempDir dir;
  fs::path path;
  const PluginRecord* record = nullptr;
};
std::unique_ptr<Loaded> load_fixture(Registry& registry, const std::string& name) {
  auto loaded = std::make_unique<Loaded>();
  loaded->path = stage(loaded->dir, name);
  loaded->record = &PluginLoader(registry).load_library(loaded->path);
  return loaded;
}

std::vector<std::string> names_of(const std::vector<RegisteredName>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) out.push_back(entry.kind + ":" + entry.name);
  return out;
}

TEST(PluginLoader, LoadsAGoodPluginAndRecordsItsDescriptor) {
  TempDir dir;
  const auto path = stage(dir, "good");
  Registry registry;
  const auto& record = PluginLoader(registry).load_library(path);
  ASSERT_TRUE(record.loaded) << record.error;
  EXPECT_EQ(record.name, "good");
  EXPECT_EQ(record.version, "1.2.3");
  EXPECT_EQ(record.license, "Apache-2.0");
  EXPECT_EQ(record.origin, "https://example.org/good");
  EXPECT_EQ(record.library, path.string());
  EXPECT_EQ(names_of(record.entries), (std::vector<std::string>{"logger:memory", "logger:memory_extra"}));
  EXPECT_EQ(registry.loggers().list(), (std::vector<std::string>{"memory", "memory_extra"}));
  EXPECT_EQ(registry.loggers().get("memory").source.plugin, "good");
  EXPECT_EQ(registry.loggers().get("memory").source.library, path.string());
}

TEST(PluginLoader, ObjectsOutliveTheRegistryThatMadeThem) {
  TempDir dir;
  const auto path = stage(dir, "good");
  std::shared_ptr<Logger> logger;
  LoggerFactory factory;
  {
    auto registry = std::make_unique<Registry>();
    PluginLoader(*registry).load_library(path);
    factory = registry->loggers().get("memory").factory;
    logger = factory(Config());
  }  // the registry, its tables and its loader are gone; the library must not be
  logger->log_metrics({{"train/loss", 0.5}}, 3);
  logger->log_text("note", "hello", 4);
  auto* memory = dynamic_cast<MemoryLogger*>(logger.get());
  ASSERT_NE(memory, nullptr) << "typeinfo must be shared across the library boundary";
  EXPECT_EQ(memory->describe(), "good:2");
  auto second = factory(Config());  // a factory copied out of the registry still works too
  EXPECT_EQ(dynamic_cast<MemoryLogger&>(*second).describe(), "good:0");
  logger.reset();
  second.reset();
}

// Each broken library, and the exact message that refuses it. Nothing of theirs may reach the registry.
struct Refusal {
  const char* fixture;
  std::string (*expected)(const std::string& path);
};

/// This build's plugin ABI as the loader prints it, with `minor_ahead` added to the minor version.
std::string abi(std::uint32_t minor_ahead) {
  return std::to_string(kPluginAbiMajor) + "." + std::to_string(kPluginAbiMinor + minor_ahead);
}

const Refusal kRefusals[] = {
    {"wrongabi",
     [](const std::string& path) {
       return "plugin 'wrongabi' (" + path + "): built for plugin ABI 99.0, this autotimm uses " + abi(0) +
              "; rebuild it against this installation's SDK";
     }},
    {"newerminor",
     [](const std::string& path) {
       return "plugin 'newerminor' (" + path + "): built for plugin ABI " + abi(1) + ", newer than this autotimm's " +
              abi(0) + "; upgrade autotimm or rebuild the plugin against this installation's SDK";
     }},
    {"wrongtorch",
     [](const std::string& path) {
       return "plugin 'wrongtorch' (" + path + "): built against libtorch 2.1.0, this autotimm uses " +
              std::string(kTorchVersion) + "; rebuild it against this installation";
     }},
    {"wrongcompiler",
     [](const std::string& path) {
       return "plugin 'wrongcompiler' (" + path + "): built with msvc 19.38, this autotimm uses " +
              std::string(AUTOTIMM_CXX_ABI) + "; rebuild it with the same compiler and standard library settings";
     }},
    {"misnamed",
     [](const std::string& path) {
       return "plugin 'othername' (" + path +
              "): file name says the plugin is 'misnamed', its descriptor says 'othername'; name the file "
              "libautotimm_<kind>_othername.so or fix the name in AUTOTIMM_PLUGIN(...)";
     }},
    {"noentry",
     [](const std::string& path) {
       return "'" + path +
              "' is not an autotimm plugin: it does not export 'autotimm_plugin_descriptor'; define one with "
              "AUTOTIMM_PLUGIN(...) in its plugin.cpp";
     }},
};

TEST(PluginLoader, RefusesEachBrokenLibraryWithItsExactReason) {
  for (const auto& refusal : kRefusals) {
    Registry registry;
    const auto loaded = load_fixture(registry, refusal.fixture);
    EXPECT_FALSE(loaded->record->loaded) << refusal.fixture;
    EXPECT_EQ(loaded->record->error, refusal.expected(loaded->path.string())) << refusal.fixture;
    EXPECT_TRUE(loaded->record->entries.empty()) << refusal.fixture;
    EXPECT_EQ(registry.loggers().size(), 0u) << refusal.fixture;
  }
}

TEST(PluginLoader, KeepsNothingFromAPluginWhoseRegistrationThrows) {
  Registry registry;
  const auto loaded = load_fixture(registry, "throwing");
  const auto& record = *loaded->record;
  const auto& path = loaded->path;
  EXPECT_FALSE(record.loaded);
  EXPECT_EQ(record.error, "plugin 'throwing' (" + path.string() +
                              ") failed to register: database of variants is corrupt; it provides nothing");
  EXPECT_TRUE(record.entries.empty());
  EXPECT_FALSE(registry.loggers().contains("from_throwing"));
}

TEST(PluginLoader, RefusesADuplicateNameAtEqualRankNamingBothPlugins) {
  TempDir dir;
  const auto good = stage(dir, "good");
  const auto duplicate = stage(dir, "duplicate");
  Registry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load_library(good).loaded);
  const auto& record = loader.load_library(duplicate);
  EXPECT_FALSE(record.loaded);
  EXPECT_EQ(record.error, "plugin 'duplicate' (" + duplicate.string() +
                              ") failed to register: logger 'memory' is registered twice at rank standard: by plugin "
                              "'good' (" + good.string() + ") and by plugin 'duplicate' (" + duplicate.string() +
                              "); remove one of them from the plugin path, or give one a different rank; it provides "
                              "nothing");
  // All or nothing: the duplicate's other, unique entry is not there either.
  EXPECT_FALSE(registry.loggers().contains("unique_to_duplicate"));
  EXPECT_EQ(registry.loggers().get("memory").source.plugin, "good");
}

TEST(PluginLoader, AHigherRankShadowsALowerOneInEitherLoadOrder) {
  for (bool preferred_first : {false, true}) {
    TempDir dir;
    const auto good = stage(dir, "good");
    const auto preferred = stage(dir, "preferred");
    Registry registry;
    PluginLoader loader(registry);
    ASSERT_TRUE(loader.load_library(preferred_first ? preferred : good).loaded);
    ASSERT_TRUE(loader.load_library(preferred_first ? good : preferred).loaded);
    const auto& winner = registry.loggers().get("memory");
    EXPECT_EQ(winner.source.plugin, "preferred");
    EXPECT_EQ(winner.rank, Rank::preferred);
    ASSERT_EQ(registry.loggers().shadowed().size(), 1u);
    EXPECT_EQ(registry.loggers().shadowed().front().source.plugin, "good");
    auto logger = winner.factory(Config());
    EXPECT_EQ(dynamic_cast<MemoryLogger&>(*logger).describe(), "preferred:0");
  }
}

TEST(PluginLoader, AnUnknownNameCarriesTheReasonAPluginOfThatKindFailed) {
  TempDir dir;
  const auto good = stage(dir, "good");
  const auto broken = stage(dir, "wrongtorch");
  Registry registry;
  PluginLoader loader(registry);
  loader.load_library(good);
  loader.load_library(broken);
  try {
    registry.loggers().get("handmade");
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& e) {
    EXPECT_EQ(std::string(e.what()),
              "unknown logger 'handmade'; closest: memory, memory_extra (autotimm plugins lists every name); plugin "
              "'wrongtorch', which may provide it, failed to load: " + registry.plugins()[1].error);
  }
  // Other kinds are not blamed on a logger plugin.
  try {
    registry.backbones().get("resnet50");
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& e) {
    EXPECT_EQ(std::string(e.what()).find("wrongtorch"), std::string::npos) << e.what();
  }
}

TEST(PluginLoader, ReportsAFileThatIsNotALibrary) {
  TempDir dir;
  const auto path = dir / "libautotimm_logger_garbage.so";
  std::ofstream(path) << "this is not an ELF file\n";
  Registry registry;
  const auto& record = PluginLoader(registry).load_library(path);
  EXPECT_FALSE(record.loaded);
  EXPECT_NE(record.error.find("cannot load plugin library '" + fs::canonical(path).string() + "'"), std::string::npos)
      << record.error;
  EXPECT_NE(record.error.find("is it a shared library built for this machine?"), std::string::npos) << record.error;
}

TEST(PluginLoader, NamesTheSymbolALibraryCannotResolve) {
  Registry registry;
  const auto loaded = load_fixture(registry, "unresolved");
  const auto& record = *loaded->record;
  EXPECT_FALSE(record.loaded);
  EXPECT_NE(record.error.find("autotimm_test_symbol_nobody_defines"), std::string::npos) << record.error;
}

TEST(PluginLoader, ReportsAMissingFile) {
  TempDir dir;
  Registry registry;
  const auto& record = PluginLoader(registry).load_library(dir / "libautotimm_logger_absent.so");
  EXPECT_FALSE(record.loaded);
  EXPECT_NE(record.error.find("does not exist or is not a file"), std::string::npos) << record.error;
}

TEST(PluginLoader, LoadsADirectoryInNaturalOrderAndSkipsOtherFiles) {
  TempDir dir;
  stage(dir, "preferred");
  stage(dir, "good");
  stage(dir, "wrongabi");
  std::ofstream(dir / "README.txt") << "not a plugin";
  std::ofstream(dir / "libsomething_else.so") << "not ours";
  Registry registry;
  PluginLoader(registry).load_directory(dir.path());
  std::vector<std::string> tried;
  for (const auto& plugin : registry.plugins()) tried.push_back(plugin.name + (plugin.loaded ? "" : "(refused)"));
  EXPECT_EQ(tried, (std::vector<std::string>{"good", "preferred", "wrongabi(refused)"}));
}

TEST(PluginLoader, OpensEachLibraryOncePerRegistry) {
  TempDir dir;
  const auto path = stage(dir, "good");
  Registry registry;
  PluginLoader loader(registry);
  loader.load_library(path);
  const auto& again = loader.load_library(dir / "." / "libautotimm_logger_good.so");
  EXPECT_TRUE(again.loaded);
  EXPECT_EQ(registry.plugins().size(), 1u);
}

TEST(PluginLoader, RefusesTheSamePluginFromASecondFile) {
  TempDir first, second;
  const auto a = stage(first, "good");
  const auto b = stage(second, "good");
  Registry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load_library(a).loaded);
  const auto& record = loader.load_library(b);
  EXPECT_FALSE(record.loaded);
  EXPECT_EQ(record.error, "plugin 'good' (" + b.string() + ") is already loaded from " + a.string() +
                              "; remove one copy from the plugin path");
}

TEST(PluginLoader, RegistersAStaticallyLinkedPlugin) {
  Registry registry;
  const auto& record = PluginLoader(registry).load_static(autotimm_plugin_descriptor_good());
  ASSERT_TRUE(record.loaded) << record.error;
  EXPECT_EQ(record.name, "good");
  EXPECT_TRUE(registry.loggers().contains("memory_extra"));
}

TEST(PluginSearchPath, ReadsAutotimmPluginPathThenTheDefaultFolder) {
  ::setenv("AUTOTIMM_PLUGIN_PATH", "/opt/a::/opt/b/libautotimm_logger_x.so", 1);
  const auto path = plugin_search_path();
  ::unsetenv("AUTOTIMM_PLUGIN_PATH");
  ASSERT_EQ(path.size(), 3u);
  EXPECT_EQ(path[0], fs::path("/opt/a"));
  EXPECT_EQ(path[1], fs::path("/opt/b/libautotimm_logger_x.so"));
  EXPECT_EQ(path[2], default_plugin_directory());
  EXPECT_EQ(fs::weakly_canonical(path[2]), fs::weakly_canonical(AUTOTIMM_TEST_BUILD_PLUGIN_DIR));
}

TEST(PluginSearchPath, ExtractsThePluginNameFromTheFileName) {
  EXPECT_EQ(plugin_name_from_file("/x/libautotimm_backbone_resnet.so"), "resnet");
  EXPECT_EQ(plugin_name_from_file("libautotimm_hub_hf.so"), "hf");
  EXPECT_EQ(plugin_name_from_file("libautotimm_loss_focal_tversky.so"), "focal_tversky");
  EXPECT_EQ(plugin_name_from_file("libautotimm_backbone_.so"), std::nullopt);
  EXPECT_EQ(plugin_name_from_file("libautotimm_resnet.so"), std::nullopt);
  EXPECT_EQ(plugin_name_from_file("libtorch.so"), std::nullopt);
  EXPECT_EQ(plugin_name_from_file("libautotimm_backbone_resnet.so.1"), std::nullopt);
}

// Each plugin library exports exactly one dynamic symbol, its descriptor entry point (style: symbol hygiene).
TEST(PluginLibraries, ExportExactlyTheEntryPoint) {
  std::vector<fs::path> libraries;
  for (const auto* name : {"good", "duplicate", "throwing", "wrongabi", "misnamed"}) libraries.push_back(fixture(name));
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(AUTOTIMM_TEST_BUILD_PLUGIN_DIR, ec)) libraries.push_back(item.path());
  for (const auto& library : libraries) {
    const std::string command = "nm -D --defined-only '" + library.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::vector<std::string> symbols;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe)) {
      std::string text(line);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      symbols.push_back(text.substr(text.rfind(' ') + 1));
    }
    ASSERT_EQ(::pclose(pipe), 0) << library;
    EXPECT_EQ(symbols, (std::vector<std::string>{"autotimm_plugin_descriptor"})) << library;
  }
}

}  // namespace
}  // namespace autotimm
