// The safetensors writer, laid out like the reference implementation (docs/formats.md §1.4) so files we write are
// byte-identical to Python's for the same tensors and metadata.
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/io/safetensors.hpp"

namespace autotimm {
namespace {

struct Layout {
  std::string header;                     // 8-byte length, JSON, space padding
  std::vector<const TensorBytes*> order;  // the order of the data buffer
};

std::string format_shape(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

void check_tensor(const TensorBytes& tensor) {
  const auto fail = [&tensor](std::string_view what, const std::string& expected, const std::string& got,
                              std::string_view remedy) {
    throw FormatError("cannot write safetensors tensor '" + tensor.name + "': " + std::string(what) + ": expected " +
                      expected + ", got " + got + "; " + std::string(remedy));
  };
  if (tensor.name == "__metadata__") {
    fail("reserved name", "any name but '__metadata__'", "'__metadata__'", "rename the tensor");
  }
  const std::size_t element_bits = dtype_bits(tensor.dtype);
  if (element_bits == 0) {
    fail("invalid dtype", "a Dtype enumerator",
         "the value " + std::to_string(static_cast<int>(tensor.dtype)), "pass one of autotimm::all_dtypes()");
  }
  const std::string declared = std::string(dtype_name(tensor.dtype)) + " " + format_shape(tensor.shape);
  std::uint64_t elements = 1;
  for (std::int64_t dimension : tensor.shape) {
    if (dimension < 0) fail("negative dimension", "sizes >= 0", declared, "fix the shape");
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(dimension), &elements)) {
      fail("tensor too large", "an element count below 2^64", declared, "fix the shape");
    }
  }
  std::uint64_t bits = 0;
  if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(element_bits), &bits)) {
    fail("tensor too large", "a size in bits below 2^64", declared, "fix the shape");
  }
  if (bits % 8 != 0) {
    fail("misaligned tensor", "a whole number of bytes", declared + " = " + std::to_string(bits) + " bits",
         "pad the last dimension");
  }
  if (bits / 8 != tensor.data.size()) {
    fail("size mismatch", std::to_string(bits / 8) + " bytes for " + declared,
         std::to_string(tensor.data.size()) + " bytes", "pass data of exactly shape x dtype bytes");
  }
}

Layout plan_layout(std::span<const TensorBytes> tensors, const std::map<std::string, std::string>& metadata) {
  Layout layout;
  std::set<std::string_view> names;
  for (const TensorBytes& tensor : tensors) {
    check_tensor(tensor);
    if (!names.insert(tensor.name).second) {
      throw FormatError("cannot write safetensors tensor '" + tensor.name + "': duplicate name: expected each name " +
                        "once, got it twice; rename or drop one of them");
    }
    layout.order.push_back(&tensor);
  }
  // Widest alignment first so every tensor starts aligned to its element size, then by name (§1.4).
  std::sort(layout.order.begin(), layout.order.end(), [](const TensorBytes* a, const TensorBytes* b) {
    if (a->dtype != b->dtype) return a->dtype > b->dtype;
    return a->name < b->name;
  });

  boost::json::object json;
  if (!metadata.empty()) {
    boost::json::object entries;
    for (const auto& [key, value] : metadata) entries[key] = value;
    json["__metadata__"] = std::move(entries);
  }
  std::uint64_t offset = 0;
  for (const TensorBytes* tensor : layout.order) {
    boost::json::array shape(tensor->shape.begin(), tensor->shape.end());
    const std::uint64_t end = offset + tensor->data.size();
    json[tensor->name] = {{"dtype", dtype_name(tensor->dtype)},
                          {"shape", std::move(shape)},
                          {"data_offsets", boost::json::array{offset, end}}};
    offset = end;
  }

  std::string text = boost::json::serialize(json);
  // Spaces up to a multiple of 8, so the data buffer starts 8-aligned in the file.
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kSafetensorsMaxHeaderBytes) {
    throw FormatError("cannot write safetensors header: expected at most " +
                      std::to_string(kSafetensorsMaxHeaderBytes) + " bytes, got " + std::to_string(text.size()) +
                      "; write fewer tensors or less metadata per file");
  }
  layout.header.reserve(8 + text.size());
  for (std::size_t i = 0; i < 8; ++i) layout.header.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
  layout.header += text;
  return layout;
}

}  // namespace

std::string serialize_safetensors(std::span<const TensorBytes> tensors,
                                  const std::map<std::string, std::string>& metadata) {
  const Layout layout = plan_layout(tensors, metadata);
  std::size_t total = layout.header.size();
  for (const TensorBytes* tensor : layout.order) total += tensor->data.size();
  std::string bytes;
  bytes.reserve(total);
  bytes += layout.header;
  for (const TensorBytes* tensor : layout.order) {
    bytes.append(reinterpret_cast<const char*>(tensor->data.data()), tensor->data.size());
  }
  return bytes;
}

void write_safetensors(const std::filesystem::path& path, std::span<const TensorBytes> tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Validate everything before touching the disk; the tensors are streamed, never copied into one buffer.
  const Layout layout = plan_layout(tensors, metadata);
  AtomicFileWriter file(path);
  file.write(layout.header);
  for (const TensorBytes* tensor : layout.order) file.write(tensor->data);
  file.commit();
}

}  // namespace autotimm
