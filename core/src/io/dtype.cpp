// The safetensors dtype table (docs/formats.md §1.3): one row per Dtype, in enum order.
#include <array>

#include "autotimm/io/safetensors.hpp"

namespace autotimm {
namespace {

struct DtypeRow {
  Dtype dtype;
  std::string_view name;
  std::size_t bits;
};

constexpr std::array<DtypeRow, 22> kDtypeTable{{
    {Dtype::boolean, "BOOL", 8},
    {Dtype::f4, "F4", 4},
    {Dtype::f6_e2m3, "F6_E2M3", 6},
    {Dtype::f6_e3m2, "F6_E3M2", 6},
    {Dtype::u8, "U8", 8},
    {Dtype::i8, "I8", 8},
    {Dtype::f8_e5m2, "F8_E5M2", 8},
    {Dtype::f8_e4m3, "F8_E4M3", 8},
    {Dtype::f8_e8m0, "F8_E8M0", 8},
    {Dtype::f8_e4m3fnuz, "F8_E4M3FNUZ", 8},
    {Dtype::f8_e5m2fnuz, "F8_E5M2FNUZ", 8},
    {Dtype::i16, "I16", 16},
    {Dtype::u16, "U16", 16},
    {Dtype::f16, "F16", 16},
    {Dtype::bf16, "BF16", 16},
    {Dtype::i32, "I32", 32},
    {Dtype::u32, "U32", 32},
    {Dtype::f32, "F32", 32},
    {Dtype::c64, "C64", 64},
    {Dtype::f64, "F64", 64},
    {Dtype::i64, "I64", 64},
    {Dtype::u64, "U64", 64},
}};

constexpr bool table_follows_enum_order() {
  for (std::size_t i = 0; i < kDtypeTable.size(); ++i) {
    if (static_cast<std::size_t>(kDtypeTable[i].dtype) != i) return false;
  }
  return true;
}
static_assert(table_follows_enum_order(), "kDtypeTable must list every Dtype in enum order");

constexpr std::array<Dtype, kDtypeTable.size()> kAllDtypes = [] {
  std::array<Dtype, kDtypeTable.size()> all{};
  for (std::size_t i = 0; i < kDtypeTable.size(); ++i) all[i] = kDtypeTable[i].dtype;
  return all;
}();

// An out-of-range value can only come from a cast; it gets a row that no check accepts (0 bits).
constexpr DtypeRow kInvalidRow{Dtype::boolean, "<invalid dtype>", 0};

const DtypeRow& row_of(Dtype dtype) noexcept {
  const auto index = static_cast<std::size_t>(dtype);
  return index < kDtypeTable.size() ? kDtypeTable[index] : kInvalidRow;
}

}  // namespace

std::span<const Dtype> all_dtypes() noexcept { return kAllDtypes; }

std::string_view dtype_name(Dtype dtype) noexcept { return row_of(dtype).name; }

std::size_t dtype_bits(Dtype dtype) noexcept { return row_of(dtype).bits; }

std::optional<Dtype> parse_dtype(std::string_view name) noexcept {
  for (const DtypeRow& row : kDtypeTable) {
    if (row.name == name) return row.dtype;
  }
  return std::nullopt;
}

}  // namespace autotimm
