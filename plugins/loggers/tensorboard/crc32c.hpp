#pragma once
// CRC32C (Castagnoli) and the masked form TFRecord framing stores: TensorBoard and W&B check both CRCs of every
// record, so a wrong value here makes them drop the file.
//
//   crc32c("123456789") == 0xE3069283
#include <cstdint>
#include <string_view>

namespace autotimm::tensorboard {

/// CRC32C of `bytes`: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.
std::uint32_t crc32c(std::string_view bytes) noexcept;

/// TFRecord's mask: rotate right by 15 and add 0xA282EAD8, so a CRC of data that holds CRCs is not degenerate.
constexpr std::uint32_t mask_crc(std::uint32_t crc) noexcept {
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

inline std::uint32_t masked_crc32c(std::string_view bytes) noexcept { return mask_crc(crc32c(bytes)); }

}  // namespace autotimm::tensorboard
