// Block-string decoding and depth scaling, with timm's arithmetic: Python's round (halves to even) and the same
// floating-point expression order, so every variant gets timm's block counts and widths.
#include "arch_def.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <numeric>

#include "autotimm/error.hpp"
#include "autotimm/layers/helpers.hpp"

namespace autotimm::efficientnet {
namespace {

[[noreturn]] void bad_block(std::string_view block, const std::string& what) {
  throw ConfigError("block string '" + std::string(block) + "': " + what);
}

std::int64_t to_int(std::string_view text, std::string_view block, std::string_view key) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    bad_block(block, "'" + std::string(key) + "' expects a whole number, got '" + std::string(text) + "'");
  }
  return value;
}

double to_double(std::string_view text, std::string_view block, std::string_view key) {
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    bad_block(block, "'" + std::string(key) + "' expects a number, got '" + std::string(text) + "'");
  }
  return value;
}

// timm's _parse_ksize: "3" is one kernel, "3.5.7" one per channel group of a mixed convolution.
std::vector<std::int64_t> to_kernels(std::string_view text, std::string_view block, std::string_view key) {
  std::vector<std::int64_t> kernels;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    const auto part = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const auto kernel = to_int(part, block, key);
    if (kernel < 1) bad_block(block, "'" + std::string(key) + "' kernel sizes must be at least 1");
    kernels.push_back(kernel);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return kernels;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

BlockType parse_block_type(std::string_view name, std::string_view block) {
  if (name == "ds") return BlockType::depthwise_separable;
  if (name == "dsa") return BlockType::depthwise_separable_act;
  if (name == "ir") return BlockType::inverted_residual;
  if (name == "er") return BlockType::edge_residual;
  if (name == "cn") return BlockType::conv_bn_act;
  if (name == "uir" || name == "mqa" || name == "mha") {
    bad_block(block, "block type '" + std::string(name) +
                         "' (MobileNetV4) is not built by this plugin; supported: ds, dsa, ir, er, cn");
  }
  bad_block(block, "unknown block type '" + std::string(name) + "'; supported: ds, dsa, ir, er, cn");
}

layers::Activation parse_act_token(std::string_view code, std::string_view block) {
  if (code == "re") return layers::Activation::relu;
  if (code == "r6") return layers::Activation::relu6;
  if (code == "hs") return layers::Activation::hard_swish;
  if (code == "sw") return layers::Activation::silu;
  if (code == "mi") return layers::Activation::mish;
  bad_block(block, "unknown activation 'n" + std::string(code) + "'; expected nre, nr6, nhs, nsw or nmi");
}

// timm's _scale_stage_depth: the stage's total repeats scaled, then handed back to its strings from the last one.
std::vector<BlockArgs> scale_stage_depth(const std::vector<DecodedBlock>& blocks, double multiplier,
                                         DepthTrunc trunc) {
  std::int64_t num_repeat = 0;
  for (const auto& block : blocks) num_repeat += block.repeats;
  std::int64_t scaled = trunc == DepthTrunc::round
                            ? std::max<std::int64_t>(1, python_round(static_cast<double>(num_repeat) * multiplier))
                            : static_cast<std::int64_t>(std::ceil(static_cast<double>(num_repeat) * multiplier));
  std::vector<std::int64_t> repeats(blocks.size());
  for (std::size_t i = blocks.size(); i-- > 0;) {
    const std::int64_t r = blocks[i].repeats;
    const std::int64_t rs =
        std::max<std::int64_t>(1, python_round(static_cast<double>(r) / static_cast<double>(num_repeat) *
                                               static_cast<double>(scaled)));
    repeats[i] = rs;
    num_repeat -= r;
    scaled -= rs;
  }
  std::vector<BlockArgs> out;
  for (std::size_t i = 0; i < blocks.size(); ++i) out.insert(out.end(), static_cast<std::size_t>(repeats[i]), blocks[i].args);
  return out;
}

}  // namespace

std::string_view to_string(BlockType type) noexcept {
  switch (type) {
    case BlockType::depthwise_separable:
      return "ds";
    case BlockType::depthwise_separable_act:
      return "dsa";
    case BlockType::inverted_residual:
      return "ir";
    case BlockType::edge_residual:
      return "er";
    case BlockType::conv_bn_act:
      return "cn";
  }
  return "?";
}

std::int64_t python_round(double value) { return static_cast<std::int64_t>(std::nearbyint(value)); }

std::int64_t round_channels(double channels, double multiplier, std::int64_t divisor, double round_limit) {
  if (multiplier == 0.0) return static_cast<std::int64_t>(channels);
  return layers::make_divisible(channels * multiplier, divisor, std::nullopt, round_limit);
}

DecodedBlock decode_block_string(std::string_view block) {
  const auto ops = split(block, '_');
  if (ops.empty() || ops.front().empty()) bad_block(block, "empty");
  DecodedBlock decoded;
  BlockArgs& args = decoded.args;
  args.type = parse_block_type(ops.front(), block);

  std::map<std::string, std::string_view, std::less<>> values;
  std::optional<bool> skip;
  for (std::size_t i = 1; i < ops.size(); ++i) {
    const auto op = ops[i];
    if (op == "noskip") {
      skip = false;
    } else if (op == "skip") {
      skip = true;
    } else if (!op.empty() && op.front() == 'n') {
      args.act_layer = parse_act_token(op.substr(1), block);
    } else {
      // A key of letters, then its value from the first digit on ("se0.25" → se = 0.25).
      const auto digit = std::find_if(op.begin(), op.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digit == op.begin() || digit == op.end()) {
        bad_block(block, "token '" + std::string(op) + "' is not a key followed by a number");
      }
      const auto key = std::string(op.substr(0, static_cast<std::size_t>(digit - op.begin())));
      static const std::vector<std::string> kKnown = {"r", "k", "s", "e", "c", "se", "a", "p", "gs", "fc"};
      if (key == "cc" || key == "d") {
        bad_block(block, "'" + key + "' (" + (key == "cc" ? "CondConv experts" : "space-to-depth") +
                             ") is not built by this plugin");
      }
      if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
        bad_block(block, "unknown token '" + std::string(op) + "'");
      }
      values[key] = op.substr(static_cast<std::size_t>(digit - op.begin()));
    }
  }
  const auto required = [&](std::string_view key) -> std::string_view {
    const auto found = values.find(key);
    if (found == values.end()) {
      bad_block(block, "missing '" + std::string(key) + "' for a '" + std::string(to_string(args.type)) + "' block");
    }
    return found->second;
  };
  const auto optional = [&](std::string_view key) -> std::optional<std::string_view> {
    const auto found = values.find(key);
    if (found == values.end()) return std::nullopt;
    return found->second;
  };

  decoded.repeats = to_int(required("r"), block, "r");
  if (decoded.repeats < 1) bad_block(block, "'r' must be at least 1");
  args.out_chs = to_int(required("c"), block, "c");
  if (args.out_chs < 1) bad_block(block, "'c' must be at least 1");
  args.stride = to_int(required("s"), block, "s");
  if (args.stride != 1 && args.stride != 2) bad_block(block, "'s' must be 1 or 2");
  if (auto gs = optional("gs")) args.group_size = to_int(*gs, block, "gs");
  if (auto se = optional("se")) args.se_ratio = to_double(*se, block, "se");
  if (args.se_ratio < 0.0) bad_block(block, "'se' must not be negative");
  if (auto a = optional("a")) args.exp_kernel_size = to_kernels(*a, block, "a");
  if (auto p = optional("p")) args.pw_kernel_size = to_kernels(*p, block, "p");

  switch (args.type) {
    case BlockType::inverted_residual:
      args.kernel_size = to_kernels(required("k"), block, "k");
      args.exp_ratio = to_double(required("e"), block, "e");
      args.noskip = skip == false;
      break;
    case BlockType::depthwise_separable:
    case BlockType::depthwise_separable_act:
      args.kernel_size = to_kernels(required("k"), block, "k");
      args.noskip = args.type == BlockType::depthwise_separable_act || skip == false;
      break;
    case BlockType::edge_residual:
      args.kernel_size = to_kernels(required("k"), block, "k");
      args.exp_ratio = to_double(required("e"), block, "e");
      if (auto fc = optional("fc")) args.force_in_chs = to_int(*fc, block, "fc");
      args.noskip = skip == false;
      break;
    case BlockType::conv_bn_act:
      args.kernel_size = {to_int(required("k"), block, "k")};  // one kernel: timm reads it as an int
      args.skip = skip == true;
      break;
  }
  if (args.exp_ratio <= 0.0) bad_block(block, "'e' must be greater than 0");
  return decoded;
}

std::vector<std::vector<BlockArgs>> decode_arch_def(const std::vector<std::vector<std::string>>& arch_def,
                                                    const std::vector<double>& depth_multiplier,
                                                    DepthTrunc depth_trunc, bool fix_first_last,
                                                    std::optional<std::int64_t> group_size) {
  if (depth_multiplier.size() != 1 && depth_multiplier.size() != arch_def.size()) {
    throw ConfigError("depth_multiplier: expected one value or one per stage (" + std::to_string(arch_def.size()) +
                      "), got " + std::to_string(depth_multiplier.size()));
  }
  std::vector<std::vector<BlockArgs>> stages;
  for (std::size_t s = 0; s < arch_def.size(); ++s) {
    if (arch_def[s].empty()) throw ConfigError("arch_def: stage " + std::to_string(s) + " has no block strings");
    std::vector<DecodedBlock> blocks;
    for (const auto& text : arch_def[s]) {
      auto decoded = decode_block_string(text);
      if (group_size && !decoded.args.group_size) decoded.args.group_size = group_size;
      blocks.push_back(std::move(decoded));
    }
    const double multiplier = depth_multiplier.size() == 1 ? depth_multiplier.front() : depth_multiplier[s];
    const bool fixed = fix_first_last && (s == 0 || s + 1 == arch_def.size());
    stages.push_back(scale_stage_depth(blocks, fixed ? 1.0 : multiplier, depth_trunc));
  }
  return stages;
}

}  // namespace autotimm::efficientnet
