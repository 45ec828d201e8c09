#include "autotimm/io/safetensors_torch.hpp"

#include <torch/torch.h>

#include <bit>
#include <cstring>
#include <vector>

#include "autotimm/error.hpp"

namespace autotimm {
namespace {

// safetensors data is little-endian; the bytes are copied into tensors as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

constexpr std::string_view kTorchDtypes = "BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64, C64";

bool is_floating(Dtype dtype) {
  return dtype == Dtype::f16 || dtype == Dtype::bf16 || dtype == Dtype::f32 || dtype == Dtype::f64;
}

std::optional<Dtype> safetensors_dtype_of(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Bool: return Dtype::boolean;
    case c10::ScalarType::Byte: return Dtype::u8;
    case c10::ScalarType::Char: return Dtype::i8;
    case c10::ScalarType::Short: return Dtype::i16;
    case c10::ScalarType::Int: return Dtype::i32;
    case c10::ScalarType::Long: return Dtype::i64;
    case c10::ScalarType::Half: return Dtype::f16;
    case c10::ScalarType::BFloat16: return Dtype::bf16;
    case c10::ScalarType::Float: return Dtype::f32;
    case c10::ScalarType::Double: return Dtype::f64;
    case c10::ScalarType::ComplexFloat: return Dtype::c64;
    default: return std::nullopt;  // quantized types, ComplexHalf, ComplexDouble
  }
}

std::string unsupported_torch_dtype_message(const std::string& subject, c10::ScalarType type) {
  return "unsupported dtype for safetensors: " + subject + ": expected Bool, Byte, Char, Short, Int, Long, Half, " +
         "BFloat16, Float, Double or ComplexFloat, got " + c10::toString(type) +
         "; convert the tensor first, e.g. with .to(torch::kFloat)";
}

}  // namespace

std::optional<c10::ScalarType> scalar_type_of(Dtype dtype) noexcept {
  switch (dtype) {
    case Dtype::boolean: return c10::ScalarType::Bool;
    case Dtype::u8: return c10::ScalarType::Byte;
    case Dtype::i8: return c10::ScalarType::Char;
    case Dtype::i16: return c10::ScalarType::Short;
    case Dtype::i32: return c10::ScalarType::Int;
    case Dtype::i64: return c10::ScalarType::Long;
    case Dtype::f16: return c10::ScalarType::Half;
    case Dtype::bf16: return c10::ScalarType::BFloat16;
    case Dtype::f32: return c10::ScalarType::Float;
    case Dtype::f64: return c10::ScalarType::Double;
    case Dtype::c64: return c10::ScalarType::ComplexFloat;
    default: return std::nullopt;  // no libtorch 1.13 type: unsigned 16–64 bit, float8/6/4
  }
}

Dtype dtype_of(c10::ScalarType type) {
  if (const std::optional<Dtype> dtype = safetensors_dtype_of(type)) return *dtype;
  throw FormatError(unsupported_torch_dtype_message("torch dtype " + std::string(c10::toString(type)), type));
}

at::Tensor to_tensor(const SafetensorsReader& reader, const TensorInfo& tensor, std::optional<c10::ScalarType> target) {
  const std::optional<c10::ScalarType> type = scalar_type_of(tensor.dtype);
  if (!type) {
    throw FormatError("unsupported dtype for torch: tensor '" + tensor.name + "' in '" + reader.source() +
                      "': expected one libtorch " + TORCH_VERSION + " can hold (" + std::string(kTorchDtypes) +
                      "), got " + std::string(dtype_name(tensor.dtype)) +
                      "; convert the tensor to one of those before saving the file");
  }
  const std::span<const std::byte> bytes = reader.data(tensor);
  // Booleans travel as bytes: any non-zero byte is true, and a torch bool must hold exactly 0 or 1.
  const c10::ScalarType storage_type = *type == c10::ScalarType::Bool ? c10::ScalarType::Byte : *type;
  at::Tensor result = torch::empty(tensor.shape, torch::TensorOptions().dtype(storage_type));
  TORCH_CHECK(result.nbytes() == bytes.size(), "safetensors: byte size of '", tensor.name, "' disagrees with its shape");
  if (!bytes.empty()) std::memcpy(result.data_ptr(), bytes.data(), bytes.size());
  if (*type == c10::ScalarType::Bool) result = result.ne(0);
  if (target && *target != result.scalar_type()) result = result.to(*target);
  return result;
}

std::map<std::string, at::Tensor> load_safetensors(const std::filesystem::path& path,
                                                   std::optional<c10::ScalarType> floating_target) {
  if (floating_target && !c10::isFloatingType(*floating_target)) {
    throw ConfigError("invalid floating_target for '" + std::filesystem::absolute(path).lexically_normal().string() +
                      "': expected a floating dtype (Half, BFloat16, Float, Double), got " +
                      c10::toString(*floating_target) + "; pass e.g. torch::kFloat32, or nothing to keep file dtypes");
  }
  const SafetensorsReader reader = SafetensorsReader::open(path);
  std::map<std::string, at::Tensor> tensors;
  for (const TensorInfo& tensor : reader.tensors()) {
    const auto target = is_floating(tensor.dtype) ? floating_target : std::nullopt;
    tensors.emplace(tensor.name, to_tensor(reader, tensor, target));
  }
  return tensors;
}

void save_safetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // The CPU copies must outlive the byte spans handed to the writer.
  std::vector<at::Tensor> packed;
  std::vector<TensorBytes> entries;
  packed.reserve(tensors.size());
  entries.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) {
      throw FormatError("cannot write safetensors tensor '" + name + "' to '" +
                        std::filesystem::absolute(path).lexically_normal().string() +
                        "': expected a defined tensor, got an undefined one; drop the entry or fill it");
    }
    at::Tensor cpu = tensor.detach();
    if (cpu.layout() != c10::kStrided) cpu = cpu.to_dense();
    // resolve_conj/neg: lazily conjugated or negated views keep their original bytes in memory.
    cpu = cpu.to(c10::kCPU).resolve_conj().resolve_neg().contiguous();
    const std::optional<Dtype> dtype = safetensors_dtype_of(cpu.scalar_type());
    if (!dtype) {
      throw FormatError(unsupported_torch_dtype_message(
          "tensor '" + name + "' for '" + std::filesystem::absolute(path).lexically_normal().string() + "'", cpu.scalar_type()));
    }
    packed.push_back(cpu);
    entries.push_back(TensorBytes{
        .name = name,
        .dtype = *dtype,
        .shape = cpu.sizes().vec(),
        .data = std::span<const std::byte>(static_cast<const std::byte*>(cpu.data_ptr()), cpu.nbytes()),
    });
  }
  std::map<std::string, std::string> full_metadata = metadata;
  full_metadata.try_emplace("format", "pt");
  write_safetensors(path, entries, full_metadata);
}

}  // namespace autotimm
