// Replays the committed corpus of malformed files (tests/data/safetensors_malformed): every file must be refused
// with a FormatError whose message contains the fragment its README row gives, through the mmap path.
#include <fstream>
#include <map>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors.hpp"
#include "io_test_support.hpp"
#include "support/malformed_corpus.hpp"

namespace autotimm {
namespace {

const std::filesystem::path kCorpus = AUTOTIMM_SOURCE_DIR "/tests/data/safetensors_malformed";

TEST(SafetensorsCorpus, EveryMalformedFileIsRefusedForTheReasonItsReadmeGives) {
  testing::replay_malformed_corpus(kCorpus, 40, [](const std::filesystem::path& file) { SafetensorsReader::open(file); });
}

}  // namespace
}  // namespace autotimm
