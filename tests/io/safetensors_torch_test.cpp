// safetensors ↔ torch: dtype mapping, round trips of every torch dtype, dtype conversion on load, the timm fixture.
#include <torch/torch.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "autotimm/error.hpp"
#include "autotimm/io/safetensors_torch.hpp"
#include "io_test_support.hpp"

namespace autotimm {
namespace {

const std::filesystem::path kResnet18 = AUTOTIMM_SHARED_DIR "/fixtures/timm/resnet18.fixture/model.safetensors";

std::string message_of(const auto& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

// IEEE half → float by hand (not via torch), to check torch's conversion on load independently.
float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = (half >> 15) & 1, exponent = (half >> 10) & 0x1f, mantissa = half & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal
  } else if (exponent == 31) {
    magnitude = mantissa ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}

at::Tensor sample(c10::ScalarType type, at::IntArrayRef shape) {
  torch::manual_seed(0);
  const auto options = torch::TensorOptions().dtype(type);
  if (type == torch::kBool) return torch::rand(shape) > 0.5;
  if (c10::isFloatingType(type) || c10::isComplexType(type)) return torch::randn(shape, options) * 100;
  if (type == torch::kByte) return torch::randint(0, 256, shape, options);
  return torch::randint(-100000, 100000, shape, torch::TensorOptions().dtype(torch::kLong)).to(type);
}

TEST(SafetensorsTorchDtypes, MapBothWaysForEveryDtypeTorchCanHold) {
  const std::vector<std::pair<Dtype, c10::ScalarType>> pairs = {
      {Dtype::boolean, torch::kBool}, {Dtype::u8, torch::kByte},    {Dtype::i8, torch::kChar},
      {Dtype::i16, torch::kShort},    {Dtype::i32, torch::kInt},    {Dtype::i64, torch::kLong},
      {Dtype::f16, torch::kHalf},     {Dtype::bf16, torch::kBFloat16}, {Dtype::f32, torch::kFloat},
      {Dtype::f64, torch::kDouble},   {Dtype::c64, torch::kComplexFloat}};
  for (const auto& [dtype, type] : pairs) {
    EXPECT_EQ(scalar_type_of(dtype), type) << dtype_name(dtype);
    EXPECT_EQ(dtype_of(type), dtype) << dtype_name(dtype);
    EXPECT_EQ(dtype_bits(dtype), c10::elementSize(type) * 8) << dtype_name(dtype);
  }
  for (Dtype dtype : {Dtype::u16, Dtype::u32, Dtype::u64, Dtype::f8_e4m3, Dtype::f8_e5m2, Dtype::f4, Dtype::f6_e2m3}) {
    EXPECT_FALSE(scalar_type_of(dtype)) << dtype_name(dtype);
  }
  EXPECT_THROW(dtype_of(torch::kComplexDouble), FormatError);
  EXPECT_THROW(dtype_of(torch::kQInt8), FormatError);
}

class SafetensorsTorch : public testing::ScratchDirTest {};

TEST_F(SafetensorsTorch, RoundTripsEveryDtypeWithScalarAndEmptyShapes) {
  const std::vector<c10::ScalarType> types = {torch::kDouble, torch::kFloat, torch::kHalf, torch::kBFloat16,
                                              torch::kLong,   torch::kInt,   torch::kShort, torch::kChar,
                                              torch::kByte,   torch::kBool,  torch::kComplexFloat};
  const std::vector<std::vector<std::int64_t>> shapes = {{2, 3}, {}, {0, 3}, {4, 1, 5}};
  std::map<std::string, at::Tensor> saved;
  for (c10::ScalarType type : types) {
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      saved[std::string(c10::toString(type)) + "." + std::to_string(s)] = sample(type, shapes[s]);
    }
  }
  const std::filesystem::path path = dir_ / "all.safetensors";
  save_safetensors(path, saved, {{"epoch", "3"}});

  const std::map<std::string, at::Tensor> loaded = load_safetensors(path);
  ASSERT_EQ(loaded.size(), saved.size());
  for (const auto& [name, expected] : saved) {
    SCOPED_TRACE(name);
    const at::Tensor& actual = loaded.at(name);
    EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
    EXPECT_EQ(actual.sizes(), expected.sizes());
    EXPECT_TRUE(torch::equal(actual, expected));
  }
  const SafetensorsReader reader = SafetensorsReader::open(path);
  EXPECT_EQ(reader.metadata(), (std::map<std::string, std::string>{{"epoch", "3"}, {"format", "pt"}}));
}

TEST_F(SafetensorsTorch, SavesNonContiguousViewsByValue) {
  const at::Tensor base = torch::arange(24, torch::kFloat).reshape({4, 6});
  const std::map<std::string, at::Tensor> saved = {
      {"transposed", base.t()},                           // strides reversed
      {"sliced", base.index({torch::indexing::Slice(1, 3), torch::indexing::Slice(2, 6, 2)})},  // offset + step
      {"expanded", torch::tensor({1.5f, 2.5f}).expand({3, 2})},  // stride 0
      {"conjugated", torch::complex(base.index({0}), base.index({1})).conj()},  // lazy conjugate bit
      {"requires_grad", torch::ones({2}, torch::requires_grad())},
  };
  const std::filesystem::path path = dir_ / "views.safetensors";
  save_safetensors(path, saved);
  const std::map<std::string, at::Tensor> loaded = load_safetensors(path);
  for (const auto& [name, expected] : saved) {
    EXPECT_TRUE(torch::equal(loaded.at(name), expected.detach().resolve_conj())) << name;
  }
  EXPECT_EQ(loaded.at("sliced").sizes(), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(loaded.at("sliced")[1][1].item<float>(), 16.0f);
  EXPECT_EQ(torch::imag(loaded.at("conjugated"))[1].item<float>(), -7.0f);
}

TEST_F(SafetensorsTorch, RefusesTensorsSafetensorsCannotStoreNamingThem) {
  const std::filesystem::path path = dir_ / "bad.safetensors";
  const std::string message = message_of([&] {
    save_safetensors(path, {{"phase", torch::zeros({2}, torch::kComplexDouble)}});
  });
  EXPECT_NE(message.find("unsupported dtype for safetensors: tensor 'phase'"), std::string::npos) << message;
  EXPECT_NE(message.find("got ComplexDouble"), std::string::npos) << message;
  EXPECT_THROW(save_safetensors(path, {{"empty", at::Tensor()}}), FormatError);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(SafetensorsTorch, ConvertsFloatingTensorsOnlyWhenATargetIsGiven) {
  const std::filesystem::path path = dir_ / "mixed.safetensors";
  save_safetensors(path, {{"w", torch::tensor({1.0, 0.1}, torch::kDouble)},
                          {"h", torch::tensor({0.5}, torch::kHalf)},
                          {"count", torch::tensor(7, torch::kLong)},
                          {"mask", torch::tensor({true, false})}});
  const auto as_float = load_safetensors(path, torch::kFloat);
  EXPECT_EQ(as_float.at("w").scalar_type(), torch::kFloat);
  EXPECT_EQ(as_float.at("w")[1].item<float>(), 0.1f);
  EXPECT_EQ(as_float.at("h").scalar_type(), torch::kFloat);
  EXPECT_EQ(as_float.at("count").scalar_type(), torch::kLong);
  EXPECT_EQ(as_float.at("count").item<std::int64_t>(), 7);
  EXPECT_EQ(as_float.at("mask").scalar_type(), torch::kBool);

  const auto as_stored = load_safetensors(path);
  EXPECT_EQ(as_stored.at("w").scalar_type(), torch::kDouble);
  EXPECT_EQ(as_stored.at("h").scalar_type(), torch::kHalf);

  EXPECT_THROW(load_safetensors(path, torch::kLong), ConfigError);
}

TEST_F(SafetensorsTorch, ToTensorConvertsAnyTensorToAnExplicitTarget) {
  const std::filesystem::path path = dir_ / "ints.safetensors";
  save_safetensors(path, {{"i", torch::tensor({-3, 4}, torch::kInt)}});
  const SafetensorsReader reader = SafetensorsReader::open(path);
  const at::Tensor converted = to_tensor(reader, reader.get("i"), torch::kFloat);
  EXPECT_EQ(converted.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(converted, torch::tensor({-3.0f, 4.0f})));
}

TEST_F(SafetensorsTorch, TensorsOutliveTheReaderTheyCameFrom) {
  const std::filesystem::path path = dir_ / "w.safetensors";
  save_safetensors(path, {{"w", torch::arange(6, torch::kFloat)}});
  at::Tensor kept;
  {
    const SafetensorsReader reader = SafetensorsReader::open(path);
    kept = to_tensor(reader, reader.get("w"));
  }
  std::filesystem::remove(path);
  EXPECT_TRUE(torch::equal(kept, torch::arange(6, torch::kFloat)));
}

TEST(SafetensorsTorchBytes, NonZeroBoolBytesLoadAsTrue) {
  const std::string file = testing::safetensors_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                                                     std::string("\x00\x02\xff", 3));
  const SafetensorsReader reader = SafetensorsReader::from_bytes(testing::as_bytes(file), "mem");
  const at::Tensor mask = to_tensor(reader, reader.get("m"));
  EXPECT_EQ(mask.scalar_type(), torch::kBool);
  EXPECT_TRUE(torch::equal(mask, torch::tensor({false, true, true})));
  EXPECT_EQ(mask.to(torch::kByte)[1].item<std::uint8_t>(), 1);
}

TEST(SafetensorsTorchBytes, DtypesTorchCannotHoldParseButFailClearlyOnConversion) {
  const std::string file = testing::safetensors_file(
      R"({"scale":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]},"ids":{"dtype":"U16","shape":[1],"data_offsets":[2,4]}})",
      "abcd");
  const SafetensorsReader reader = SafetensorsReader::from_bytes(testing::as_bytes(file), "/m/quant.safetensors");
  EXPECT_EQ(reader.get("scale").dtype, Dtype::f8_e4m3);
  const std::string message = message_of([&] { to_tensor(reader, reader.get("ids")); });
  EXPECT_NE(message.find("unsupported dtype for torch: tensor 'ids' in '/m/quant.safetensors'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("got U16"), std::string::npos) << message;
  EXPECT_THROW(to_tensor(reader, reader.get("scale"), torch::kFloat), FormatError);
}

TEST(SafetensorsTorchFixture, Resnet18LoadsAsFloat32WithInt64CountersKept) {
  if (!std::filesystem::exists(kResnet18)) GTEST_SKIP() << "fixture not present: " << kResnet18;
  const std::map<std::string, at::Tensor> state = load_safetensors(kResnet18, torch::kFloat);
  EXPECT_EQ(state.size(), 122u);
  const at::Tensor& conv = state.at("conv1.weight");
  EXPECT_EQ(conv.scalar_type(), torch::kFloat);
  EXPECT_EQ(conv.sizes(), (std::vector<std::int64_t>{64, 3, 7, 7}));
  const at::Tensor& counter = state.at("bn1.num_batches_tracked");
  EXPECT_EQ(counter.scalar_type(), torch::kLong);
  EXPECT_EQ(counter.dim(), 0);
  for (const auto& [name, tensor] : state) {
    const bool is_counter = name.ends_with("num_batches_tracked");
    EXPECT_EQ(tensor.scalar_type(), is_counter ? torch::kLong : torch::kFloat) << name;
  }
}

TEST(SafetensorsTorchFixture, F16ToF32ConversionIsExact) {
  if (!std::filesystem::exists(kResnet18)) GTEST_SKIP() << "fixture not present: " << kResnet18;
  const SafetensorsReader reader = SafetensorsReader::open(kResnet18);
  const TensorInfo& info = reader.get("conv1.weight");
  const at::Tensor converted = to_tensor(reader, info, torch::kFloat).contiguous();
  const std::span<const std::byte> raw = reader.data(info);
  ASSERT_EQ(static_cast<std::size_t>(converted.numel()) * 2, raw.size());
  const float* values = converted.data_ptr<float>();
  std::size_t mismatches = 0;
  for (std::int64_t i = 0; i < converted.numel(); ++i) {
    std::uint16_t half = 0;
    std::memcpy(&half, raw.data() + 2 * i, 2);
    const float expected = half_to_float(half);
    if (std::bit_cast<std::uint32_t>(expected) != std::bit_cast<std::uint32_t>(values[i])) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0u);
  // The same values as the stored F16 tensor, widened.
  EXPECT_TRUE(torch::equal(to_tensor(reader, info).to(torch::kFloat), converted));
}

}  // namespace
}  // namespace autotimm
