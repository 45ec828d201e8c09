#pragma once
// A reader for TensorBoard event files written for the tests, independent of the writer under test: its own bitwise
// CRC32C, its own TFRecord and protobuf wire-format decoding. Every malformed byte is a std::runtime_error that
// says where, so a test fails on it.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace autotimm::tensorboard::testing {

/// CRC32C one bit at a time: slow, obviously the definition (reflected 0x82F63B78, init and final XOR ~0).
inline std::uint32_t reference_crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

inline std::uint32_t reference_masked_crc32c(std::string_view bytes) {
  const std::uint32_t crc = reference_crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

inline std::uint64_t read_le(std::string_view bytes, std::size_t at, int size) {
  std::uint64_t value = 0;
  for (int i = 0; i < size; ++i) value |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return value;
}

/// Every record's data, in order. Checks the length CRC and the data CRC of each record and that the file ends
/// exactly after the last one.
inline std::vector<std::string> read_records(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  std::size_t at = 0;
  while (at < file.size()) {
    const std::string where = path.filename().string() + " record " + std::to_string(records.size());
    if (file.size() - at < 12) throw std::runtime_error(where + ": truncated header");
    const std::uint64_t length = read_le(file, at, 8);
    if (read_le(file, at + 8, 4) != reference_masked_crc32c(std::string_view(file).substr(at, 8))) {
      throw std::runtime_error(where + ": length CRC mismatch");
    }
    if (file.size() - at - 12 < length + 4) throw std::runtime_error(where + ": truncated data");
    const std::string_view data = std::string_view(file).substr(at + 12, length);
    if (read_le(file, at + 12 + length, 4) != reference_masked_crc32c(data)) {
      throw std::runtime_error(where + ": data CRC mismatch");
    }
    records.emplace_back(data);
    at += 12 + length + 4;
  }
  return records;
}

/// One field as it is on the wire.
struct Field {
  int number = 0;
  int wire = 0;               // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
  std::uint64_t bits = 0;     // the varint or fixed value
  std::string bytes = {};     // length-delimited payload
};

/// A parsed protobuf message: every field kept, accessors check the wire type and the count.
class Message {
 public:
  Message() = default;
  explicit Message(std::string_view bytes) {
    std::size_t at = 0;
    auto varint = [&]() {
      std::uint64_t value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (at >= bytes.size()) throw std::runtime_error("protobuf: truncated varint");
        const auto byte = static_cast<unsigned char>(bytes[at++]);
        value |= std::uint64_t{byte & 0x7Fu} << shift;
        if ((byte & 0x80) == 0) return value;
      }
      throw std::runtime_error("protobuf: varint longer than 10 bytes");
    };
    while (at < bytes.size()) {
      const std::uint64_t key = varint();
      Field field{.number = static_cast<int>(key >> 3), .wire = static_cast<int>(key & 7)};
      if (field.number == 0) throw std::runtime_error("protobuf: field number 0");
      switch (field.wire) {
        case 0: field.bits = varint(); break;
        case 1:
        case 5: {
          const int size = field.wire == 1 ? 8 : 4;
          if (bytes.size() - at < static_cast<std::size_t>(size)) throw std::runtime_error("protobuf: truncated fixed");
          field.bits = read_le(bytes, at, size);
          at += static_cast<std::size_t>(size);
          break;
        }
        case 2: {
          const std::uint64_t length = varint();
          if (bytes.size() - at < length) throw std::runtime_error("protobuf: truncated length-delimited field");
          field.bytes = std::string(bytes.substr(at, length));
          at += length;
          break;
        }
        default: throw std::runtime_error("protobuf: unsupported wire type " + std::to_string(field.wire));
      }
      fields_.push_back(std::move(field));
    }
  }

  /// The field numbers present.
  std::set<int> numbers() const {
    std::set<int> out;
    for (const auto& f : fields_) out.insert(f.number);
    return out;
  }
  bool has(int number) const { return numbers().count(number) > 0; }
  std::vector<const Field*> all(int number, int wire) const {
    std::vector<const Field*> out;
    for (const auto& f : fields_) {
      if (f.number != number) continue;
      if (f.wire != wire) {
        throw std::runtime_error("protobuf: field " + std::to_string(number) + " has wire type " +
                                 std::to_string(f.wire) + ", expected " + std::to_string(wire));
      }
      out.push_back(&f);
    }
    return out;
  }
  /// The single field `number` (absent: nullopt; repeated: error, none of ours repeat a singular field).
  std::optional<Field> one(int number, int wire) const {
    const auto found = all(number, wire);
    if (found.size() > 1) throw std::runtime_error("protobuf: field " + std::to_string(number) + " repeated");
    if (found.empty()) return std::nullopt;
    return *found.front();
  }
  std::uint64_t varint(int number) const {
    const auto f = one(number, 0);
    return f ? f->bits : 0;
  }
  std::int64_t int64(int number) const { return static_cast<std::int64_t>(varint(number)); }
  double float64(int number) const {
    const auto f = one(number, 1);
    double value = 0;
    if (f) std::memcpy(&value, &f->bits, sizeof value);
    return value;
  }
  float float32(int number) const {
    const auto f = one(number, 5);
    float value = 0;
    if (f) {
      const auto bits = static_cast<std::uint32_t>(f->bits);
      std::memcpy(&value, &bits, sizeof value);
    }
    return value;
  }
  std::string string(int number) const {
    const auto f = one(number, 2);
    return f ? f->bytes : std::string();
  }
  Message message(int number) const { return Message(string(number)); }
  std::vector<Message> messages(int number) const {
    std::vector<Message> out;
    for (const auto* f : all(number, 2)) out.emplace_back(f->bytes);
    return out;
  }
  std::vector<std::string> strings(int number) const {
    std::vector<std::string> out;
    for (const auto* f : all(number, 2)) out.push_back(f->bytes);
    return out;
  }
  /// A packed repeated double.
  std::vector<double> packed_float64(int number) const {
    const std::string bytes = string(number);
    if (bytes.size() % 8 != 0) {
      throw std::runtime_error("protobuf: packed doubles of " + std::to_string(bytes.size()) + " bytes");
    }
    std::vector<double> out(bytes.size() / 8);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint64_t bits = read_le(bytes, i * 8, 8);
      std::memcpy(&out[i], &bits, 8);
    }
    return out;
  }

 private:
  std::vector<Field> fields_;
};

/// Event (event.proto) with the Summary.Values it carries.
struct Event {
  double wall_time = 0;
  std::int64_t step = 0;
  std::optional<std::string> file_version = {};
  std::vector<Message> values = {};  // Summary.Value messages
};

inline Event decode_event(std::string_view data) {
  const Message m(data);
  for (int number : m.numbers()) {
    if (number != 1 && number != 2 && number != 3 && number != 5) {
      throw std::runtime_error("Event: unexpected field " + std::to_string(number));
    }
  }
  Event event;
  event.wall_time = m.float64(1);
  event.step = m.int64(2);
  if (m.has(3)) event.file_version = m.string(3);
  if (m.has(5)) event.values = m.message(5).messages(1);
  return event;
}

/// Every Event of an event file.
inline std::vector<Event> read_events(const std::filesystem::path& path) {
  std::vector<Event> events;
  for (const auto& record : read_records(path)) events.push_back(decode_event(record));
  return events;
}

}  // namespace autotimm::tensorboard::testing
