#pragma once
// Replays a committed corpus of malformed files. The corpus folder's README.md has one table row per file:
//   | `file` | what is wrong | `message fragment` |
// Every file must be refused with a FormatError whose message holds its fragment and the file's path; a file
// without a row, or a row without a file, fails too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "autotimm/error.hpp"

namespace autotimm::testing {

inline std::map<std::string, std::string> corpus_fragments(const std::filesystem::path& corpus) {
  std::map<std::string, std::string> fragments;
  std::ifstream readme(corpus / "README.md");
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

inline void replay_malformed_corpus(const std::filesystem::path& corpus, std::size_t min_files,
                                    const std::function<void(const std::filesystem::path&)>& open) {
  ASSERT_TRUE(std::filesystem::is_directory(corpus)) << corpus;
  const auto fragments = corpus_fragments(corpus);
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().filename() != "README.md") files.insert(entry.path().filename());
  }
  ASSERT_GE(files.size(), min_files) << "the corpus lost files";
  for (const std::string& name : files) {
    SCOPED_TRACE(name);
    const auto fragment = fragments.find(name);
    if (fragment == fragments.end()) {
      ADD_FAILURE() << "no README row for " << name;
      continue;
    }
    try {
      open(corpus / name);
      ADD_FAILURE() << "accepted a malformed file";
    } catch (const FormatError& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(fragment->second), std::string::npos) << "message: " << message;
      EXPECT_NE(message.find((corpus / name).string()), std::string::npos) << "message names the file: " << message;
    } catch (const std::exception& error) {
      ADD_FAILURE() << "expected a FormatError, got: " << error.what();
    }
  }
  for (const auto& [name, fragment] : fragments) {
    EXPECT_TRUE(files.contains(name)) << "README row without a file: " << name;
  }
}

}  // namespace autotimm::testing
