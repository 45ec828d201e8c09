#pragma once
// Writes PyTorch zip checkpoints byte by byte as Python's torch.save does (no Python torch here, and C++ torch::save
// writes TorchScript archives): a zip of stored records whose data start 64-byte aligned, and a pickled state dict
// emitted opcode by opcode with CPython's memoization (docs/formats.md §2).
#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace autotimm::testing::torch_zip {

// ---------------------------------------------------------------------------------------------------------------
// A ZIP writer shaped like torch's (miniz with PyTorchStreamWriter's 64-byte alignment).

// A string literal with its embedded NUL bytes (sizeof minus the terminator).
template <std::size_t N>
inline std::string bin(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

inline std::string le(std::uint64_t value, int bytes) {
  std::string out(static_cast<std::size_t>(bytes), '\0');
  for (int i = 0; i < bytes; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

std::uint32_t reference_crc32(std::string_view data) {  // bit by bit, independent of the library's tables
  std::uint32_t crc = 0xffffffffu;
  for (const char c : data) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
  }
  return ~crc;
}

struct ZipRecord {
  std::string name = {};
  std::string data = {};
  std::uint16_t method = 0;
  std::uint16_t flags = 0;
  bool align = true;                       // torch pads the local extra field so data start 64-byte aligned
  std::optional<std::uint32_t> crc = {};           // override the CRC written
  std::optional<std::uint64_t> size = {};          // override the sizes written in the central directory
  std::optional<std::uint64_t> local_offset = {};  // override the local header offset in the central directory
  std::optional<std::string> local_name = {};      // override the name in the local header
};

struct ZipOptions {
  bool zip64 = false;  // ZIP64 extra fields and end records even for small files, as torch does above 4 GiB
  bool drop_zip64_locator = false;
  std::optional<std::uint64_t> directory_offset = {};  // override in the end record
};

inline std::string zip_file(const std::vector<ZipRecord>& records, const ZipOptions& options = {}) {
  std::string out;
  std::vector<std::uint64_t> offsets;
  const std::uint32_t saturated32 = 0xffffffffu;
  for (const ZipRecord& record : records) {
    offsets.push_back(out.size());
    const std::string name = record.local_name.value_or(record.name);
    std::string extra;
    if (options.zip64) extra += le(0x0001, 2) + le(16, 2) + le(record.data.size(), 8) + le(record.data.size(), 8);
    if (record.align) {
      const std::uint64_t start = out.size() + 30 + name.size() + extra.size() + 4;
      const std::uint64_t pad = (64 - start % 64) % 64;
      extra += "FB" + le(pad, 2) + std::string(pad, 'Z');
    }
    const std::uint32_t crc = record.crc.value_or(reference_crc32(record.data));
    out += le(0x04034b50, 4) + le(options.zip64 ? 45 : 20, 2) + le(record.flags, 2) + le(record.method, 2) +
           le(0, 2) + le(0x21, 2) + le(crc, 4);
    const std::uint64_t size = record.data.size();
    out += le(options.zip64 ? saturated32 : size, 4) + le(options.zip64 ? saturated32 : size, 4);
    out += le(name.size(), 2) + le(extra.size(), 2) + name + extra + record.data;
  }
  const std::uint64_t directory = out.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ZipRecord& record = records[i];
    const std::uint64_t size = record.size.value_or(record.data.size());
    const std::uint64_t local = record.local_offset.value_or(offsets[i]);
    std::string extra;
    if (options.zip64) extra = le(0x0001, 2) + le(24, 2) + le(size, 8) + le(size, 8) + le(local, 8);
    out += le(0x02014b50, 4) + le(0x031e, 2) + le(options.zip64 ? 45 : 20, 2) + le(record.flags, 2) +
           le(record.method, 2) + le(0, 2) + le(0x21, 2) + le(record.crc.value_or(reference_crc32(record.data)), 4);
    out += le(options.zip64 ? saturated32 : size, 4) + le(options.zip64 ? saturated32 : size, 4);
    out += le(record.name.size(), 2) + le(extra.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4);
    out += le(options.zip64 ? saturated32 : local, 4) + record.name + extra;
  }
  const std::uint64_t directory_size = out.size() - directory;
  const std::uint64_t directory_offset = options.directory_offset.value_or(directory);
  if (options.zip64) {
    const std::uint64_t record = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(0x031e, 2) + le(45, 2) + le(0, 4) + le(0, 4) +
           le(records.size(), 8) + le(records.size(), 8) + le(directory_size, 8) + le(directory_offset, 8);
    if (!options.drop_zip64_locator) out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(0xffff, 2) + le(0xffff, 2) + le(saturated32, 4) +
           le(saturated32, 4) + le(0, 2);
  } else {
    out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(records.size(), 2) + le(records.size(), 2) +
           le(directory_size, 4) + le(directory_offset, 4) + le(0, 2);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A pickle writer that memoizes as CPython's pickler does: every global, string and non-empty tuple, dict and
// reduced object is followed by BINPUT, and a repeated global or string is a BINGET (CPython memoizes by identity,
// so equal strings repeat this way when they are one object, as torch's 'storage', 'cpu' and storage keys are).

class PickleWriter {
 public:
  explicit PickleWriter(int protocol = 2) : protocol_(protocol) {
    out_ += '\x80';
    out_ += static_cast<char>(protocol);
  }

  PickleWriter& op(char code) {
    out_ += code;
    return *this;
  }
  PickleWriter& raw(std::string_view bytes) {
    out_ += bytes;
    return *this;
  }

  void put() {
    const std::uint64_t index = next_memo_++;
    if (protocol_ >= 4) {
      out_ += '\x94';  // MEMOIZE
    } else if (index < 256) {
      out_ += 'q' + le(index, 1);
    } else {
      out_ += 'r' + le(index, 4);
    }
  }

  void get(std::uint64_t index) { out_ += index < 256 ? 'h' + le(index, 1) : 'j' + le(index, 4); }

  void global(const std::string& module, const std::string& name) {
    if (recall("g" + module + "\n" + name)) return;
    if (protocol_ >= 4) {
      str(module);
      str(name);
      out_ += '\x93';  // STACK_GLOBAL
    } else {
      out_ += 'c' + module + "\n" + name + "\n";
    }
    remember("g" + module + "\n" + name);
  }

  void str(const std::string& text) {
    if (recall("s" + text)) return;
    if (protocol_ >= 4 && text.size() < 256) {
      out_ += '\x8c' + le(text.size(), 1) + text;  // SHORT_BINUNICODE
    } else {
      out_ += 'X' + le(text.size(), 4) + text;  // BINUNICODE
    }
    remember("s" + text);
  }

  void integer(std::int64_t value) {
    if (value >= 0 && value < 256) {
      out_ += 'K' + le(static_cast<std::uint64_t>(value), 1);
    } else if (value >= 0 && value < 65536) {
      out_ += 'M' + le(static_cast<std::uint64_t>(value), 2);
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      out_ += 'J' + le(static_cast<std::uint32_t>(value), 4);
    } else {
      out_ += '\x8a' + le(8, 1) + le(static_cast<std::uint64_t>(value), 8);  // LONG1 (8 bytes is enough here)
    }
  }

  void floating(double value) {
    const auto bits = std::bit_cast<std::uint64_t>(value);
    out_ += 'G';
    for (int shift = 56; shift >= 0; shift -= 8) out_ += static_cast<char>((bits >> shift) & 0xff);
  }

  void boolean(bool value) { out_ += value ? '\x88' : '\x89'; }
  void none() { out_ += 'N'; }

  // A tuple as CPython writes it: EMPTY_TUPLE (not memoized), TUPLE1-3, or MARK … TUPLE, then BINPUT.
  void tuple(const std::vector<std::function<void()>>& items) {
    if (items.empty()) {
      out_ += ')';
      return;
    }
    if (items.size() > 3) out_ += '(';
    for (const auto& item : items) item();
    out_ += items.size() == 1 ? '\x85' : items.size() == 2 ? '\x86' : items.size() == 3 ? '\x87' : 't';
    put();
  }

  void int_tuple(const std::vector<std::int64_t>& values) {
    std::vector<std::function<void()>> items;
    for (const std::int64_t v : values) items.emplace_back([this, v] { integer(v); });
    tuple(items);
  }

  // Dict items as _batch_setitems writes them: one item → SETITEM, several → MARK … SETITEMS per 1000.
  void set_items(const std::vector<std::pair<std::string, std::function<void()>>>& items) {
    for (std::size_t begin = 0; begin < items.size(); begin += 1000) {
      const std::size_t end = std::min(items.size(), begin + 1000);
      if (end - begin > 1) out_ += '(';
      for (std::size_t i = begin; i < end; ++i) {
        str(items[i].first);
        items[i].second();
      }
      out_ += end - begin > 1 ? 'u' : 's';
    }
  }

  void dict(const std::vector<std::pair<std::string, std::function<void()>>>& items) {
    out_ += '}';
    put();
    set_items(items);
  }

  // OrderedDict(): REDUCE of the global with (), then its items; with `metadata`, the _metadata attribute that
  // Module.state_dict() sets, applied by BUILD.
  void ordered_dict(const std::vector<std::pair<std::string, std::function<void()>>>& items, bool metadata = false) {
    global("collections", "OrderedDict");
    out_ += ')';
    out_ += 'R';
    put();
    set_items(items);
    if (metadata) {
      out_ += '}';
      put();
      str("_metadata");
      ordered_dict({{"", [this] { dict({{"version", [this] { integer(1); }}}); }}});
      out_ += 's';
      out_ += 'b';
    }
  }

  std::string finish() {
    out_ += '.';
    if (protocol_ < 4) return out_;
    // One FRAME after PROTO covering the rest, as CPython's framer does for small pickles.
    return out_.substr(0, 2) + '\x95' + le(out_.size() - 2, 8) + out_.substr(2);
  }

  std::string& bytes() { return out_; }

 private:
  bool recall(const std::string& key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) return false;
    get(it->second);
    return true;
  }
  void remember(const std::string& key) {
    memo_[key] = next_memo_;
    put();
  }

  int protocol_;
  std::string out_;
  std::uint64_t next_memo_ = 0;
  std::map<std::string, std::uint64_t> memo_;
};

// One tensor of a state dict: a view of storage `key`.
struct TensorSpec {
  std::string storage_type = "FloatStorage";
  std::string key = "0";
  std::int64_t numel = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> size = {};
  std::vector<std::int64_t> stride = {};
  std::string location = "cpu";
  bool parameter = false;
  std::vector<std::pair<std::string, bool>> metadata = {};  // the optional 7th argument
};

// torch.Tensor.__reduce_ex__: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()).
inline void write_tensor(PickleWriter& w, const TensorSpec& t) {
  const auto plain = [&] {
    w.global("torch._utils", "_rebuild_tensor_v2");
    std::vector<std::function<void()>> args = {
        [&] {
          w.tuple({[&] { w.str("storage"); }, [&] { w.global("torch", t.storage_type); }, [&] { w.str(t.key); },
                   [&] { w.str(t.location); }, [&] { w.integer(t.numel); }});
          w.op('Q');  // BINPERSID
        },
        [&] { w.integer(t.offset); },
        [&] { w.int_tuple(t.size); },
        [&] { w.int_tuple(t.stride); },
        [&] { w.boolean(false); },  // requires_grad of the data (a Parameter's .data is a plain tensor)
        [&] { w.ordered_dict({}); },
    };
    if (!t.metadata.empty()) {
      args.emplace_back([&] {
        std::vector<std::pair<std::string, std::function<void()>>> items;
        for (const auto& [k, v] : t.metadata) items.emplace_back(k, [&w, v = v] { w.boolean(v); });
        w.dict(items);
      });
    }
    w.tuple(args);
    w.op('R');
    w.put();
  };
  if (!t.parameter) return plain();
  // torch.nn.Parameter.__reduce_ex__: _rebuild_parameter(data, requires_grad, OrderedDict()).
  w.global("torch._utils", "_rebuild_parameter");
  w.tuple({plain, [&] { w.boolean(true); }, [&] { w.ordered_dict({}); }});
  w.op('R');
  w.put();
}

using Items = std::vector<std::pair<std::string, std::function<void()>>>;

inline std::string state_dict_pickle(const std::vector<std::pair<std::string, TensorSpec>>& tensors, int protocol = 2) {
  PickleWriter w(protocol);
  Items items;
  for (const auto& [name, spec] : tensors) items.emplace_back(name, [&w, &spec = spec] { write_tensor(w, spec); });
  w.ordered_dict(items, /*metadata=*/true);
  return w.finish();
}

template <typename T>
inline std::string bytes_of(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

inline std::string bytes_of(const at::Tensor& tensor) {
  const at::Tensor packed = tensor.contiguous();
  return {static_cast<const char*>(packed.data_ptr()), packed.nbytes()};
}

// The records torch.save writes, in its order, under `prefix`.
inline std::vector<ZipRecord> torch_records(const std::string& pickle, const std::map<std::string, std::string>& storages,
                                     const std::string& prefix = "archive") {
  std::vector<ZipRecord> records = {{.name = prefix + "/data.pkl", .data = pickle},
                                    {.name = prefix + "/byteorder", .data = "little"}};
  for (const auto& [key, data] : storages) records.push_back({.name = prefix + "/data/" + key, .data = data});
  records.push_back({.name = prefix + "/version", .data = "3\n"});
  records.push_back({.name = prefix + "/.data/serialization_id", .data = "1234567890123456789012345678901234567890"});
  return records;
}

inline std::string torch_zip(const std::string& pickle, const std::map<std::string, std::string>& storages,
                      const ZipOptions& options = {}) {
  return zip_file(torch_records(pickle, storages), options);
}


// A state dict as torch.save(model.state_dict()) writes it: one storage per tensor (float32, int64 or float16).
inline std::string state_dict_checkpoint(const std::map<std::string, at::Tensor>& tensors) {
  std::vector<std::pair<std::string, TensorSpec>> specs;
  std::map<std::string, std::string> storages;
  for (const auto& [name, tensor] : tensors) {
    const std::string key = std::to_string(storages.size());
    const at::Tensor packed = tensor.contiguous();
    std::vector<std::int64_t> stride;
    for (auto s : packed.strides()) stride.push_back(s);
    const std::string type = packed.scalar_type() == at::kLong ? "LongStorage"
                             : packed.scalar_type() == at::kHalf ? "HalfStorage"
                                                                  : "FloatStorage";
    specs.push_back({name, TensorSpec{.storage_type = type, .key = key, .numel = packed.numel(), .offset = 0,
                                      .size = packed.sizes().vec(), .stride = stride}});
    storages[key] = bytes_of(packed);
  }
  return torch_zip(state_dict_pickle(specs), storages);
}

}  // namespace autotimm::testing::torch_zip
