// Replays the committed corpus of malformed files (tests/data/safetensors_malformed): every file must be refused
// with a FormatError whose message contains the fragment its README row gives, through the mmap path.
#include <fstream>
#include <map>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "io_test_support.hpp"

namespace autotimm {
namespace {

const std::filesystem::path kCorpus = AUTOTIMM_SOURCE_DIR "/tests/data/safetensors_malformed";

// README rows look like: | `file.safetensors` | what is wrong | `message fragment` |
std::map<std::string, std::string> expected_fragments() {
  std::map<std::string, std::string> fragments;
  std::ifstream readme(kCorpus / "README.md");
  std::string line;
  while (std::getline(readme, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::size_t name_end = line.find('`', 3);
    const std::size_t fragment_end = line.rfind('`');
    const std::size_t fragment_begin = line.rfind('`', fragment_end - 1);
    if (name_end == std::string::npos || fragment_begin <= name_end) continue;
    fragments[line.substr(3, name_end - 3)] = line.substr(fragment_begin + 1, fragment_end - fragment_begin - 1);
  }
  return fragments;
}

TEST(SafetensorsCorpus, EveryMalformedFileIsRefusedForTheReasonItsReadmeGives) {
  ASSERT_TRUE(std::filesystem::is_directory(kCorpus)) << kCorpus;
  const std::map<std::string, std::string> fragments = expected_fragments();
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus)) {
    if (entry.path().filename() != "README.md") files.insert(entry.path().filename());
  }
  ASSERT_GE(files.size(), 40u) << "the corpus lost files";

  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    const auto fragment = fragments.find(name);
    if (fragment == fragments.end()) {
      ADD_FAILURE() << "no README row for " << name;
      continue;
    }
    try {
      SafetensorsReader::open(kCorpus / name);
      ADD_FAILURE() << "accepted a malformed file";
    } catch (const FormatError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(fragment->second), std::string::npos) << "message: " << message;
      EXPECT_NE(message.find((kCorpus / name).string()), std::string::npos) << "message names the file: " << message;
    } catch (const std::exception& error) {
      ADD_FAILURE() << "expected a FormatError, got: " << error.what();
    }
  }
  for (const auto& [name, fragment] : fragments) {
    EXPECT_TRUE(files.contains(name)) << "README row without a file: " << name;
  }
}

}  // namespace
}  // namespace autotimm
