#pragma once
// safetensors without torch: the dtype table, a validating memory-mapped reader and a writer.
// Layout and rules: docs/formats.md §1. Nothing here includes torch, so the fuzzer and tools can use it alone;
// autotimm/io/safetensors_torch.hpp turns what it reads into tensors.
//
//   auto file = autotimm::SafetensorsReader::open("model.safetensors");
//   const autotimm::TensorInfo& conv = file.get("conv1.weight");   // dtype, shape, byte range
//   std::span<const std::byte> bytes = file.data(conv);            // straight from the mapping
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autotimm/export.hpp"

namespace autotimm {

/// Element types of safetensors, in the reference implementation's order. The order is part of the format:
/// writers lay tensors out by descending Dtype (widest alignment first), then by name.
enum class Dtype : std::uint8_t {
  boolean,  // BOOL
  f4,       // F4 (float4_e2m1, two per byte)
  f6_e2m3,  // F6_E2M3
  f6_e3m2,  // F6_E3M2
  u8,
  i8,
  f8_e5m2,
  f8_e4m3,  // F8_E4M3 (torch's float8_e4m3fn)
  f8_e8m0,
  f8_e4m3fnuz,
  f8_e5m2fnuz,
  i16,
  u16,
  f16,
  bf16,
  i32,
  u32,
  f32,
  c64,
  f64,
  i64,
  u64,
};

/// Every Dtype, in the order above.
AUTOTIMM_API std::span<const Dtype> all_dtypes() noexcept;

/// The code written in files: "F32", "BOOL", "F8_E4M3", …
AUTOTIMM_API std::string_view dtype_name(Dtype dtype) noexcept;

/// Bits per element: 4 for F4, 6 for F6_*, 8…64 for the rest (0 for a value outside the enum).
AUTOTIMM_API std::size_t dtype_bits(Dtype dtype) noexcept;

/// The Dtype whose code is `name` (exact, case-sensitive, as files spell it); nullopt for anything else.
AUTOTIMM_API std::optional<Dtype> parse_dtype(std::string_view name) noexcept;

/// The header limit of the reference implementation; a larger header is refused by readers and writers.
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

/// One tensor of a file: its element type, shape and byte range [begin, end) in the data buffer (which starts
/// right after the header, not at the start of the file).
struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::f32;
  std::vector<std::int64_t> shape;  // [] is a scalar (one element); a 0 anywhere means no elements
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::uint64_t byte_size() const noexcept { return end - begin; }
};

/// A validated, read-only view of a safetensors file. Opening checks every rule of docs/formats.md §1.5 plus
/// duplicate keys, string-only metadata and integer shapes, so that every byte range it hands out lies inside the
/// file; anything else is a FormatError that names the file and, where there is one, the tensor.
/// Move-only; the mapping lives as long as the reader, and a moved-from reader may only be assigned or destroyed.
/// The file must not be truncated while it is mapped (as with any mmap, the process would get SIGBUS).
class AUTOTIMM_API SafetensorsReader {
 public:
  /// Maps `path` read-only. Missing, unreadable or non-regular files are an IoError; bad bytes a FormatError.
  static SafetensorsReader open(const std::filesystem::path& path);

  /// Reads from bytes the caller owns and keeps alive while the reader is used (no copy). `source` names them in
  /// messages, in place of a path.
  static SafetensorsReader from_bytes(std::span<const std::byte> bytes, std::string source);

  SafetensorsReader(SafetensorsReader&& other) noexcept;
  SafetensorsReader& operator=(SafetensorsReader&& other) noexcept;
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;
  ~SafetensorsReader();

  /// The absolute path of the file, or the source given to from_bytes.
  const std::string& source() const noexcept;

  /// Every tensor, in the order of its bytes in the file.
  const std::vector<TensorInfo>& tensors() const noexcept;

  /// The tensor called `name`, or nullptr.
  const TensorInfo* find(std::string_view name) const noexcept;

  /// The tensor called `name`; a NotFoundError listing the closest names if there is none.
  const TensorInfo& get(std::string_view name) const;

  /// The `__metadata__` entries (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const noexcept;

  /// The bytes of `tensor` (one of tensors()): little-endian, row-major, tightly packed; not aligned in general.
  std::span<const std::byte> data(const TensorInfo& tensor) const;

  /// N, the header length in bytes; the data buffer starts at byte 8 + N of the file.
  std::uint64_t header_size() const noexcept;

 private:
  struct State;
  explicit SafetensorsReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// One tensor to write: its bytes must be exactly shape × dtype in size (little-endian, row-major, packed).
struct TensorBytes {
  std::string name;
  Dtype dtype = Dtype::f32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;
};

/// The whole file as the reference writer lays it out (docs/formats.md §1.4): `__metadata__` first, tensors by
/// descending dtype then name with contiguous offsets, header padded with spaces to a multiple of 8.
/// Invalid input (size not matching shape, negative dimension, duplicate or reserved name) is a FormatError.
AUTOTIMM_API std::string serialize_safetensors(std::span<const TensorBytes> tensors,
                                               const std::map<std::string, std::string>& metadata = {});

/// Writes the same bytes as serialize_safetensors to `path`, atomically: a failure leaves whatever was there before.
AUTOTIMM_API void write_safetensors(const std::filesystem::path& path, std::span<const TensorBytes> tensors,
                                    const std::map<std::string, std::string>& metadata = {});

}  // namespace autotimm
