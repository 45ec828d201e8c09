#pragma once
// safetensors ↔ torch tensors, on top of the torch-free reader and writer in autotimm/io/safetensors.hpp.
// at::Tensor is torch::Tensor; only the narrow ATen headers are included here.
//
//   // timm weights as float32; integer buffers such as bn1.num_batches_tracked stay int64.
//   auto state = autotimm::load_safetensors("model.safetensors", torch::kFloat32);
//   autotimm::save_safetensors("copy.safetensors", state);
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "autotimm/export.hpp"
#include "autotimm/io/safetensors.hpp"

namespace autotimm {

/// The torch dtype of `dtype`, or nullopt for the ones libtorch 1.13 cannot hold (U16, U32, U64, F8_*, F6_*, F4).
AUTOTIMM_API std::optional<c10::ScalarType> scalar_type_of(Dtype dtype) noexcept;

/// The safetensors dtype of `type`; a FormatError for the torch dtypes safetensors cannot store (quantized,
/// complex half and double).
AUTOTIMM_API Dtype dtype_of(c10::ScalarType type);

/// A CPU tensor holding a copy of `tensor`'s bytes (one of reader.tensors()), converted to `target` when given.
/// A dtype torch cannot hold is a FormatError naming the tensor, the file and the dtype.
AUTOTIMM_API at::Tensor to_tensor(const SafetensorsReader& reader, const TensorInfo& tensor,
                                  std::optional<c10::ScalarType> target = std::nullopt);

/// Every tensor of the file at `path`, by name. With `floating_target` (a floating dtype), floating tensors (F16,
/// BF16, F32, F64) are converted to it and the others keep their dtype, so int64 counters stay int64.
AUTOTIMM_API std::map<std::string, at::Tensor> load_safetensors(
    const std::filesystem::path& path, std::optional<c10::ScalarType> floating_target = std::nullopt);

/// Writes `tensors` (any device, layout or strides; they are copied to contiguous CPU memory) to `path` atomically.
/// `{"format": "pt"}` is added to the metadata unless it has a "format" key, as the Hub's files carry it.
AUTOTIMM_API void save_safetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                                   const std::map<std::string, std::string>& metadata = {});

}  // namespace autotimm
