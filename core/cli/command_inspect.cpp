// autotimm inspect: the tensors and metadata of a safetensors file (weights or a checkpoint).
#include <iostream>

#include <boost/json.hpp>

#include "autotimm/io/safetensors.hpp"
#include "command_line.hpp"
#include "commands.hpp"

namespace autotimm::cli {
namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::uint64_t element_count(const std::vector<std::int64_t>& shape) {
  std::uint64_t count = 1;
  for (auto d : shape) count *= static_cast<std::uint64_t>(d);
  return count;
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
  CommandLine line(args, {"--json"}, {});
  if (line.positional().size() != 1) throw UsageError("expected one FILE");
  const auto file = SafetensorsReader::open(line.positional().front());

  std::uint64_t total_elements = 0, total_bytes = 0;
  for (const auto& tensor : file.tensors()) {
    total_elements += element_count(tensor.shape);
    total_bytes += tensor.byte_size();
  }

  if (line.flag("--json")) {
    boost::json::array tensors;
    for (const auto& tensor : file.tensors()) {
      boost::json::array shape;
      for (auto d : tensor.shape) shape.push_back(d);
      tensors.push_back(boost::json::object{{"name", tensor.name},
                                            {"dtype", dtype_name(tensor.dtype)},
                                            {"shape", std::move(shape)},
                                            {"data_offsets", boost::json::array{tensor.begin, tensor.end}}});
    }
    boost::json::object metadata;
    for (const auto& [key, value] : file.metadata()) metadata[key] = value;
    boost::json::object document{{"file", file.source()},
                                 {"tensors", std::move(tensors)},
                                 {"metadata", std::move(metadata)},
                                 {"num_tensors", file.tensors().size()},
                                 {"num_elements", total_elements},
                                 {"data_bytes", total_bytes}};
    std::cout << boost::json::serialize(document) << "\n";
    return kExitOk;
  }

  std::size_t name_width = 4;
  for (const auto& tensor : file.tensors()) name_width = std::max(name_width, tensor.name.size());
  std::cout << file.source() << "\n";
  for (const auto& tensor : file.tensors()) {
    std::cout << "  " << tensor.name << std::string(name_width - tensor.name.size() + 2, ' ') << dtype_name(tensor.dtype)
              << std::string(6 - std::min<std::size_t>(dtype_name(tensor.dtype).size(), 5), ' ')
              << shape_text(tensor.shape) << "\n";
  }
  std::cout << file.tensors().size() << " tensors, " << total_elements << " elements, " << total_bytes
            << " bytes of data\n";
  if (!file.metadata().empty()) {
    std::cout << "metadata:\n";
    for (const auto& [key, value] : file.metadata()) std::cout << "  " << key << ": " << value << "\n";
  }
  return kExitOk;
}

}  // namespace autotimm::cli
