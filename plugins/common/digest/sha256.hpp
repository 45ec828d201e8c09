#pragma once
// SHA-256 for the plugins: the hub checks downloads against their ETag (an LFS blob's ETag is its sha256), loggers
// name media files by their content.
// OpenSSL's implementation: libcurl already brings libcrypto, and a hash is not code to write ourselves.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace autotimm::digest {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  /// Lower-case hex digest; the object cannot be updated afterwards.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

std::string sha256_hex(std::string_view bytes);
/// Lower-case hex sha256 of the file's bytes; IoError when it cannot be read.
std::string sha256_of_file(const std::filesystem::path& path);

}  // namespace autotimm::digest
