#pragma once
// A protobuf wire-format writer for the few TensorBoard messages we emit: no protoc, no libprotobuf. Fields are
// written in the order given; like proto3 serializers, callers leave out fields that hold their default value.
//
//   ProtoWriter value;
//   value.string(1, "train/loss").float32(2, 0.25f);   // Summary.Value{tag, simple_value}
//   ProtoWriter summary;
//   summary.message(1, value);
#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace autotimm::tensorboard {

class ProtoWriter {
 public:
  enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

  /// An unsigned or non-negative integer, an enum or a bool (wire type 0).
  ProtoWriter& varint(int field, std::uint64_t value) {
    key(field, kVarint);
    raw_varint(value);
    return *this;
  }
  /// int32/int64: negative values take ten bytes, as the two's complement of the 64-bit value.
  ProtoWriter& int64(int field, std::int64_t value) { return varint(field, static_cast<std::uint64_t>(value)); }
  ProtoWriter& float64(int field, double value) {
    key(field, kFixed64);
    raw_fixed(std::bit_cast<std::uint64_t>(value), 8);
    return *this;
  }
  ProtoWriter& float32(int field, float value) {
    key(field, kFixed32);
    raw_fixed(std::bit_cast<std::uint32_t>(value), 4);
    return *this;
  }
  /// A string, bytes or an already serialized message (wire type 2).
  ProtoWriter& string(int field, std::string_view bytes) {
    key(field, kLengthDelimited);
    raw_varint(bytes.size());
    data_.append(bytes);
    return *this;
  }
  ProtoWriter& message(int field, const ProtoWriter& nested) { return string(field, nested.data()); }
  /// A packed repeated double (proto3's encoding for repeated scalars).
  ProtoWriter& packed_float64(int field, std::span<const double> values) {
    key(field, kLengthDelimited);
    raw_varint(values.size() * 8);
    for (double v : values) raw_fixed(std::bit_cast<std::uint64_t>(v), 8);
    return *this;
  }

  const std::string& data() const noexcept { return data_; }
  std::string take() && noexcept { return std::move(data_); }

 private:
  void key(int field, WireType type) { raw_varint((static_cast<std::uint64_t>(field) << 3) | type); }
  void raw_varint(std::uint64_t value) {
    while (value >= 0x80) {
      data_.push_back(static_cast<char>((value & 0x7F) | 0x80));
      value >>= 7;
    }
    data_.push_back(static_cast<char>(value));
  }
  // Little-endian whatever the host, as the wire format requires.
  void raw_fixed(std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) data_.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  }

  std::string data_;
};

}  // namespace autotimm::tensorboard
