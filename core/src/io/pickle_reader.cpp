// The restricted unpickler: pickle opcodes (protocols 2–5, as CPython's pickle module defines them) interpreted over
// PickleValue trees, with torch's tensor and storage globals recognised and every other global left opaque.
#include "pickle_reader.hpp"

#include <bit>
#include <optional>
#include <unordered_map>
#include <utility>

#include "autotimm/error.hpp"

namespace autotimm::detail {
namespace {

// Opcode bytes (CPython Lib/pickle.py). Only the ones handled below, plus names for the rest in messages.
enum Opcode : std::uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kBinFloat = 'G',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinString = 'T',
  kShortBinString = 'U',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kEmptyList = ']',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kSetItems = 'u',
  kEmptyDict = '}',
  kEmptyTuple = ')',
  // protocol 2
  kProto = 0x80,
  kNewObj = 0x81,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  // protocol 3
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  // protocol 4
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
  // protocol 5
  kByteArray8 = 0x96,
};

constexpr std::uint8_t kMaxProtocol = 5;

constexpr std::string_view kRemedy =
    "the file is corrupt or was not written by torch.save; re-save the weights with "
    "torch.save(model.state_dict(), path) or convert them to safetensors";

constexpr std::string_view kOrderedDict = "collections.OrderedDict";
constexpr std::string_view kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr std::string_view kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr std::string_view kRebuildParameterWithState = "torch._utils._rebuild_parameter_with_state";
constexpr std::string_view kRebuildFromTypeV2 = "torch._tensor._rebuild_from_type_v2";

// Names of every standard opcode, for the message that refuses one.
std::string_view opcode_name(std::uint8_t op) {
  switch (op) {
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'F': return "FLOAT";
    case 'P': return "PERSID";
    case 'p': return "PUT";
    case 'g': return "GET";
    case 'd': return "DICT";
    case 'l': return "LIST";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "";
  }
}

std::string hex_byte(std::uint8_t byte) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[byte >> 4] + kHex[byte & 0xf];
}

bool is_tensor_rebuilder(std::string_view name) {
  return name == kRebuildTensorV2 || name == kRebuildParameter || name == kRebuildParameterWithState;
}

// What identifies a dict key the way Python hashing would for the kinds a checkpoint uses as keys (True == 1).
std::optional<std::string> key_identity(const PickleValue& key) {
  switch (key.kind) {
    case PickleKind::string: return "s" + key.text;
    case PickleKind::bytes: return "b" + key.text;
    case PickleKind::integer: return "i" + std::to_string(key.integer);
    case PickleKind::boolean: return key.boolean ? "i1" : "i0";
    case PickleKind::none: return "n";
    default: return std::nullopt;  // floats, tuples, opaque objects: kept as they come
  }
}

}  // namespace

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> bytes, const std::string& source, const std::string& record,
            const PickleLimits& limits)
      : bytes_(bytes), source_(source), record_(record), limits_(limits) {}

  PickleDocument run() {
    while (true) {
      if (pos_ >= bytes_.size()) {
        op_pos_ = pos_;
        fail("truncated pickle", "a STOP opcode", "the end of the record after " + std::to_string(bytes_.size()) +
                                                      " bytes");
      }
      op_pos_ = pos_;
      const std::uint8_t op = read_u8();
      if (op == kStop) return finish();
      step(op);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what, const std::string& expected, const std::string& got,
                         std::string_view remedy = kRemedy) const {
    throw FormatError(what + " at byte " + std::to_string(op_pos_) + " of " + record_ + ": '" + source_ +
                      "': expected " + expected + ", got " + got + "; " + std::string(remedy));
  }

  // --- reading the byte stream -----------------------------------------------------------------------------------

  std::span<const std::byte> take(std::uint64_t count, const char* what) {
    const std::uint64_t left = bytes_.size() - pos_;
    if (count > left) {
      fail("truncated pickle", std::to_string(count) + " bytes of " + what, "only " + std::to_string(left) + " left");
    }
    const std::span<const std::byte> out = bytes_.subspan(pos_, static_cast<std::size_t>(count));
    pos_ += count;
    return out;
  }

  std::uint64_t read_le(std::size_t width, const char* what) {
    const std::span<const std::byte> raw = take(width, what);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
    return value;
  }

  std::uint8_t read_u8(const char* what = "an opcode argument") { return static_cast<std::uint8_t>(read_le(1, what)); }

  std::int32_t read_i32(const char* what) {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(read_le(4, what)));
  }

  std::string read_text(std::uint64_t count, const char* what) {
    const std::span<const std::byte> raw = take(count, what);
    return {reinterpret_cast<const char*>(raw.data()), raw.size()};
  }

  std::uint64_t read_length(std::int64_t count) {
    if (count < 0) fail("invalid pickle length", "a length of 0 or more", std::to_string(count));
    return static_cast<std::uint64_t>(count);
  }

  // A GLOBAL line: bytes up to '\n', bounded.
  std::string read_line(const char* what) {
    const std::uint64_t left = bytes_.size() - pos_;
    const std::uint64_t window = std::min<std::uint64_t>(left, limits_.max_global_line + 1);
    for (std::uint64_t i = 0; i < window; ++i) {
      if (bytes_[pos_ + i] == std::byte{'\n'}) {
        std::string line = read_text(i, what);
        ++pos_;
        if (line.empty()) fail("invalid pickle GLOBAL", std::string("a non-empty ") + what, "an empty line");
        return line;
      }
    }
    if (window == left) fail("truncated pickle", std::string("a newline ending the GLOBAL ") + what, "the end of the record");
    fail("pickle GLOBAL line too long", "at most " + std::to_string(limits_.max_global_line) + " bytes",
         "no newline in the next " + std::to_string(window) + " bytes");
  }

  // LONG1/LONG4: little-endian two's complement of `count` bytes.
  PickleValue* read_long(std::uint64_t count) {
    const std::span<const std::byte> raw = take(count, "a long integer");
    PickleValue* value = make(PickleKind::integer);
    if (count == 0) return value;
    const bool negative = (static_cast<unsigned>(raw[count - 1]) & 0x80) != 0;
    for (std::uint64_t i = 8; i < count; ++i) {
      if (raw[i] != (negative ? std::byte{0xff} : std::byte{0})) {
        value->kind = PickleKind::big_integer;
        return value;
      }
    }
    std::uint64_t bits = negative ? ~std::uint64_t{0} : 0;
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(count, 8); ++i) {
      bits &= ~(std::uint64_t{0xff} << (8 * i));
      bits |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
    }
    if (count > 8 && ((bits >> 63) != 0) != negative) {  // sign lost in the low 8 bytes: wider than int64
      value->kind = PickleKind::big_integer;
      return value;
    }
    value->integer = static_cast<std::int64_t>(bits);
    return value;
  }

  // --- values, stack, marks, memo --------------------------------------------------------------------------------

  PickleValue* make(PickleKind kind) {
    if (document_.values_.size() >= limits_.max_values) {
      fail("pickle too large", "at most " + std::to_string(limits_.max_values) + " values", "more");
    }
    PickleValue& value = document_.values_.emplace_back();
    value.kind = kind;
    return &value;
  }

  PickleValue* make_text(PickleKind kind, std::string text) {
    PickleValue* value = make(kind);
    value->text = std::move(text);
    return value;
  }

  PickleValue* make_integer(std::int64_t integer) {
    PickleValue* value = make(PickleKind::integer);
    value->integer = integer;
    return value;
  }

  PickleValue* make_container(PickleKind kind, std::vector<PickleValue*> items) {
    PickleValue* value = make(kind);
    value->items = std::move(items);
    return value;
  }

  std::size_t frame_base() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(PickleValue* value) {
    if (stack_.size() >= limits_.max_stack) {
      fail("pickle stack too deep", "at most " + std::to_string(limits_.max_stack) + " values on the stack", "more");
    }
    stack_.push_back(value);
  }

  void underflow(const char* needed) const {
    fail("pickle stack underflow", std::string(needed) + " on the stack",
         marks_.empty() ? "an empty stack" : "nothing above the last MARK");
  }

  PickleValue* pop(const char* needed = "a value") {
    if (stack_.size() <= frame_base()) underflow(needed);
    PickleValue* value = stack_.back();
    stack_.pop_back();
    return value;
  }

  PickleValue* top(const char* needed) {
    if (stack_.size() <= frame_base()) underflow(needed);
    return stack_.back();
  }

  std::vector<PickleValue*> pop_mark() {
    if (marks_.empty()) fail("pickle stack underflow", "a MARK before this opcode", "none");
    const std::size_t base = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return items;
  }

  void memo_put(std::uint64_t index, PickleValue* value) {
    const auto it = memo_.find(index);
    if (it != memo_.end()) {
      it->second = value;
      return;
    }
    if (memo_.size() >= limits_.max_memo) {
      fail("pickle memo too large", "at most " + std::to_string(limits_.max_memo) + " entries", "more");
    }
    memo_.emplace(index, value);
  }

  PickleValue* memo_get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) {
      fail("pickle memo miss", "a value stored under memo index " + std::to_string(index), "none");
    }
    return it->second;
  }

  // --- container mutation ----------------------------------------------------------------------------------------

  void append(PickleValue* target, const std::vector<PickleValue*>& items, const char* op) {
    if (target->kind == PickleKind::object) return;  // an opaque object's contents are never built
    if (target->kind != PickleKind::list) {
      fail(std::string("invalid pickle ") + op, "a list to append to", describe(*target));
    }
    target->items.insert(target->items.end(), items.begin(), items.end());
  }

  void add_to_set(PickleValue* target, const std::vector<PickleValue*>& items) {
    if (target->kind == PickleKind::object) return;
    if (target->kind != PickleKind::set) fail("invalid pickle ADDITEMS", "a set to add to", describe(*target));
    target->items.insert(target->items.end(), items.begin(), items.end());
  }

  void set_items(PickleValue* target, const std::vector<PickleValue*>& pairs, const char* op) {
    if (pairs.size() % 2 != 0) {
      fail(std::string("invalid pickle ") + op, "key-value pairs (an even number of values)",
           std::to_string(pairs.size()) + " values");
    }
    if (target->kind == PickleKind::object) return;
    if (target->kind != PickleKind::dict) fail(std::string("invalid pickle ") + op, "a dict", describe(*target));
    auto& index = dict_index_[target];
    for (std::size_t i = 0; i < pairs.size(); i += 2) {
      const std::optional<std::string> identity = key_identity(*pairs[i]);
      if (identity) {
        const auto [it, inserted] = index.emplace(*identity, target->items.size());
        if (!inserted) {  // Python keeps the first key and its position, with the new value
          target->items[it->second + 1] = pairs[i + 1];
          continue;
        }
      }
      target->items.push_back(pairs[i]);
      target->items.push_back(pairs[i + 1]);
    }
  }

  void build(PickleValue* target, const PickleValue& state) {
    // An OrderedDict's state is its attributes (a state dict's _metadata); an opaque object's is never applied.
    if (target->kind == PickleKind::dict || target->kind == PickleKind::object) return;
    fail("invalid pickle BUILD", "a dict or an object to set the state of", describe(*target) + " (state: " +
                                                                              describe(state) + ")");
  }

  // --- globals, calls, persistent ids ----------------------------------------------------------------------------

  PickleValue* make_global(const std::string& module, const std::string& name) {
    return make_text(PickleKind::global, module + "." + name);
  }

  // REDUCE: callable(*args), for the allow-listed callables; anything else becomes an opaque object.
  PickleValue* call(PickleValue* callable, PickleValue* args) {
    if (callable->kind == PickleKind::object) return make_text(PickleKind::object, callable->text);
    if (callable->kind != PickleKind::global) fail("invalid pickle REDUCE", "a global to call", describe(*callable));
    const std::string& name = callable->text;
    const bool allowed = name == kOrderedDict || is_tensor_rebuilder(name) || name == kRebuildFromTypeV2;
    if (!allowed) return make_text(PickleKind::object, name);
    if (args->kind != PickleKind::tuple) {
      fail("invalid pickle REDUCE of " + name, "a tuple of arguments", describe(*args));
    }
    if (name == kOrderedDict) {
      if (!args->items.empty()) {
        fail("unsupported call of " + name, "no arguments (torch.save pickles the items separately)",
             std::to_string(args->items.size()) + " arguments");
      }
      return make(PickleKind::dict);
    }
    if (name == kRebuildTensorV2) return rebuild_tensor(*args);
    if (name == kRebuildFromTypeV2) return rebuild_from_type(*args);
    return rebuild_parameter(name, *args);
  }

  // NEWOBJ / NEWOBJ_EX: cls.__new__(cls, …). Only OrderedDict means something; the rest stays opaque.
  PickleValue* instantiate(PickleValue* cls, const char* op) {
    if (cls->kind != PickleKind::global && cls->kind != PickleKind::object) {
      fail(std::string("invalid pickle ") + op, "a class (a global)", describe(*cls));
    }
    if (cls->kind == PickleKind::global && cls->text == kOrderedDict) return make(PickleKind::dict);
    return make_text(PickleKind::object, cls->text);
  }

  [[noreturn]] void bad_arguments(std::string_view function, const std::string& expected, const PickleValue& got) {
    fail("invalid arguments to " + std::string(function), expected, describe(got));
  }

  std::vector<std::int64_t> int_tuple(std::string_view function, const char* what, const PickleValue& value) {
    if (value.kind != PickleKind::tuple) bad_arguments(function, std::string("a tuple of ints for ") + what, value);
    std::vector<std::int64_t> ints;
    ints.reserve(value.items.size());
    for (const PickleValue* item : value.items) {
      if (item->kind != PickleKind::integer) {
        bad_arguments(function, std::string("ints in ") + what, *item);
      }
      ints.push_back(item->integer);
    }
    return ints;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  PickleValue* rebuild_tensor(const PickleValue& args) {
    const std::string_view function = kRebuildTensorV2;
    const std::size_t count = args.items.size();
    if (count != 6 && count != 7) {
      fail("invalid arguments to " + std::string(function),
           "6 or 7 (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])",
           std::to_string(count));
    }
    const PickleValue& storage = *args.items[0];
    if (storage.kind != PickleKind::storage) bad_arguments(function, "a storage (persistent id) first", storage);
    const PickleValue& offset = *args.items[1];
    if (offset.kind != PickleKind::integer) bad_arguments(function, "an int storage_offset", offset);
    PickleTensorRef& tensor = document_.tensors_.emplace_back();
    tensor.storage = storage.storage;
    tensor.storage_offset = offset.integer;
    tensor.size = int_tuple(function, "size", *args.items[2]);
    tensor.stride = int_tuple(function, "stride", *args.items[3]);
    if (tensor.size.size() != tensor.stride.size()) {
      fail("invalid arguments to " + std::string(function), "size and stride of the same length",
           std::to_string(tensor.size.size()) + " and " + std::to_string(tensor.stride.size()));
    }
    const PickleValue& requires_grad = *args.items[4];
    if (requires_grad.kind != PickleKind::boolean) bad_arguments(function, "a bool requires_grad", requires_grad);
    if (count == 7) read_tensor_metadata(*args.items[6], tensor);
    PickleValue* value = make(PickleKind::tensor);
    value->tensor = &tensor;
    return value;
  }

  // torch._utils.get_tensor_metadata: {"neg": True} and {"conj": True} for lazily negated or conjugated tensors.
  void read_tensor_metadata(const PickleValue& metadata, PickleTensorRef& tensor) {
    if (metadata.kind == PickleKind::none) return;
    if (metadata.kind != PickleKind::dict) bad_arguments(kRebuildTensorV2, "a dict of tensor metadata", metadata);
    for (std::size_t i = 0; i < metadata.items.size(); i += 2) {
      const PickleValue& key = *metadata.items[i];
      const PickleValue& flag = *metadata.items[i + 1];
      if (key.kind != PickleKind::string || flag.kind != PickleKind::boolean) {
        bad_arguments(kRebuildTensorV2, "tensor metadata of string keys and bool values", key);
      }
      if (key.text == "neg") {
        tensor.negative = flag.boolean;
      } else if (key.text == "conj") {
        tensor.conjugate = flag.boolean;
      } else if (flag.boolean) {
        fail("unsupported tensor metadata", "only 'neg' and 'conj'", "'" + printable_text(key.text, 60) + "'");
      }
    }
  }

  // _rebuild_parameter(data, requires_grad, backward_hooks) and _rebuild_parameter_with_state(…, state): for a state
  // dict a Parameter is its data.
  PickleValue* rebuild_parameter(std::string_view function, const PickleValue& args) {
    const std::size_t expected = function == kRebuildParameter ? 3 : 4;
    if (args.items.size() != expected) {
      fail("invalid arguments to " + std::string(function), std::to_string(expected), std::to_string(args.items.size()));
    }
    PickleValue* data = args.items[0];
    if (data->kind == PickleKind::object) return data;  // built by an unknown global: refused where it is used
    if (data->kind != PickleKind::tensor) bad_arguments(function, "a tensor first", *data);
    if (args.items[1]->kind != PickleKind::boolean) bad_arguments(function, "a bool requires_grad", *args.items[1]);
    return data;
  }

  // _rebuild_from_type_v2(func, new_type, args, state): what torch writes for a tensor with Python attributes.
  PickleValue* rebuild_from_type(const PickleValue& args) {
    if (args.items.size() != 4) {
      fail("invalid arguments to " + std::string(kRebuildFromTypeV2), "4 (func, new_type, args, state)",
           std::to_string(args.items.size()));
    }
    PickleValue* func = args.items[0];
    const PickleValue& type = *args.items[1];
    if (func->kind != PickleKind::global) bad_arguments(kRebuildFromTypeV2, "a global func first", *func);
    if (type.kind != PickleKind::global) bad_arguments(kRebuildFromTypeV2, "a global type second", type);
    const bool plain = type.text == "torch._tensor.Tensor" || type.text == "torch.Tensor" ||
                       type.text == "torch.nn.parameter.Parameter";
    if (!plain) return make_text(PickleKind::object, type.text);      // a tensor subclass: not built
    if (!is_tensor_rebuilder(func->text)) return make_text(PickleKind::object, func->text);
    return call(func, args.items[2]);
  }

  // BINPERSID: ('storage', torch.<T>Storage, '<key>', '<location>', numel).
  PickleValue* persistent_load(const PickleValue& pid) {
    const char* expected = "('storage', torch.<T>Storage, key, location, numel)";
    if (pid.kind != PickleKind::tuple || pid.items.size() != 5) fail("invalid persistent id", expected, describe(pid));
    const PickleValue& tag = *pid.items[0];
    const PickleValue& type = *pid.items[1];
    const PickleValue& key = *pid.items[2];
    const PickleValue& location = *pid.items[3];
    const PickleValue& numel = *pid.items[4];
    if (tag.kind != PickleKind::string || tag.text != "storage") {
      fail("invalid persistent id", std::string(expected) + " starting with 'storage'", describe(tag));
    }
    const std::string_view type_name = type.text;
    const bool storage_type = type.kind == PickleKind::global && type_name.starts_with("torch.") &&
                              type_name.ends_with("Storage") && type_name.find('.', 6) == std::string_view::npos;
    if (!storage_type) fail("invalid persistent id", "a torch.<T>Storage type", describe(type));
    if (key.kind != PickleKind::string) fail("invalid persistent id", "a string storage key", describe(key));
    if (location.kind != PickleKind::string) fail("invalid persistent id", "a string location", describe(location));
    if (numel.kind != PickleKind::integer || numel.integer < 0) {
      fail("invalid persistent id", "an element count of 0 or more", describe(numel));
    }
    PickleStorageRef& storage = document_.storages_.emplace_back();
    storage.type = std::string(type_name.substr(6));
    storage.key = key.text;
    storage.location = location.text;
    storage.numel = numel.integer;
    PickleValue* value = make(PickleKind::storage);
    value->storage = &storage;
    return value;
  }

  // --- the interpreter -------------------------------------------------------------------------------------------

  void step(std::uint8_t op) {
    switch (op) {
      case kProto: {
        const std::uint8_t protocol = read_u8("the protocol number");
        if (protocol > kMaxProtocol) {
          fail("unsupported pickle protocol", "2 (torch.save's default) up to 5", std::to_string(protocol),
               "re-save the checkpoint with torch.save(…, pickle_protocol=2) or convert it to safetensors");
        }
        return;
      }
      case kFrame: {  // framing only groups bytes for reading; its length must still fit
        const std::uint64_t length = read_le(8, "a frame length");
        if (length > bytes_.size() - pos_) {
          fail("truncated pickle", "a frame of " + std::to_string(length) + " bytes",
               std::to_string(bytes_.size() - pos_) + " bytes left");
        }
        return;
      }
      case kMark:
        if (marks_.size() >= limits_.max_marks) {
          fail("pickle nesting too deep", "at most " + std::to_string(limits_.max_marks) + " open MARKs", "more");
        }
        marks_.push_back(stack_.size());
        return;
      case kNone: return push(make(PickleKind::none));
      case kNewTrue:
      case kNewFalse: {
        PickleValue* value = make(PickleKind::boolean);
        value->boolean = op == kNewTrue;
        return push(value);
      }
      case kBinInt: return push(make_integer(read_i32("a 4-byte int")));
      case kBinInt1: return push(make_integer(read_u8("a 1-byte int")));
      case kBinInt2: return push(make_integer(static_cast<std::int64_t>(read_le(2, "a 2-byte int"))));
      case kLong1: return push(read_long(read_u8("a long length")));
      case kLong4: return push(read_long(read_length(read_i32("a long length"))));
      case kBinFloat: {
        const std::span<const std::byte> raw = take(8, "a float");
        std::uint64_t bits = 0;
        for (const std::byte b : raw) bits = bits << 8 | static_cast<std::uint64_t>(b);  // big-endian
        PickleValue* value = make(PickleKind::floating);
        value->floating = std::bit_cast<double>(bits);
        return push(value);
      }
      case kShortBinUnicode:
      case kShortBinString:
        return push(make_text(PickleKind::string, read_text(read_u8("a string length"), "a string")));
      case kBinUnicode:
        return push(make_text(PickleKind::string, read_text(read_le(4, "a string length"), "a string")));
      case kBinUnicode8:
        return push(make_text(PickleKind::string, read_text(read_le(8, "a string length"), "a string")));
      case kBinString:  // a Python 2 str; torch.load decodes it as UTF-8
        return push(make_text(PickleKind::string, read_text(read_length(read_i32("a string length")), "a string")));
      case kShortBinBytes:
        return push(make_text(PickleKind::bytes, read_text(read_u8("a bytes length"), "bytes")));
      case kBinBytes: return push(make_text(PickleKind::bytes, read_text(read_le(4, "a bytes length"), "bytes")));
      case kBinBytes8:
      case kByteArray8:
        return push(make_text(PickleKind::bytes, read_text(read_le(8, "a bytes length"), "bytes")));
      case kEmptyTuple: return push(make(PickleKind::tuple));
      case kEmptyList: return push(make(PickleKind::list));
      case kEmptyDict: return push(make(PickleKind::dict));
      case kEmptySet: return push(make(PickleKind::set));
      case kTuple: return push(make_container(PickleKind::tuple, pop_mark()));
      case kFrozenSet: return push(make_container(PickleKind::set, pop_mark()));
      case kTuple1:
      case kTuple2:
      case kTuple3: {
        const std::size_t count = static_cast<std::size_t>(op - kTuple1) + 1;
        std::vector<PickleValue*> items(count);
        for (std::size_t i = count; i-- > 0;) items[i] = pop("a tuple item");
        return push(make_container(PickleKind::tuple, std::move(items)));
      }
      case kAppend: {
        PickleValue* item = pop("an item to append");
        return append(top("a list to append to"), {item}, "APPEND");
      }
      case kAppends: {
        const std::vector<PickleValue*> items = pop_mark();
        return append(top("a list to append to"), items, "APPENDS");
      }
      case kAddItems: {
        const std::vector<PickleValue*> items = pop_mark();
        return add_to_set(top("a set to add to"), items);
      }
      case kSetItem: {
        PickleValue* value = pop("a value to set");
        PickleValue* key = pop("a key to set");
        return set_items(top("a dict to set an item of"), {key, value}, "SETITEM");
      }
      case kSetItems: {
        const std::vector<PickleValue*> pairs = pop_mark();
        return set_items(top("a dict to set items of"), pairs, "SETITEMS");
      }
      case kPop:
        if (stack_.size() > frame_base()) {
          stack_.pop_back();
        } else if (!marks_.empty()) {
          pop_mark();  // as CPython: POP on an empty frame discards the MARK
        } else {
          underflow("a value to pop");
        }
        return;
      case kPopMark: pop_mark(); return;
      case kDup: return push(top("a value to duplicate"));
      case kBinPut: return memo_put(read_u8("a memo index"), top("a value to memoize"));
      case kLongBinPut: return memo_put(read_le(4, "a memo index"), top("a value to memoize"));
      case kMemoize: return memo_put(memo_.size(), top("a value to memoize"));
      case kBinGet: return push(memo_get(read_u8("a memo index")));
      case kLongBinGet: return push(memo_get(read_le(4, "a memo index")));
      case kGlobal: {
        const std::string module = read_line("module");
        const std::string name = read_line("name");
        return push(make_global(module, name));
      }
      case kStackGlobal: {
        const PickleValue* name = pop("a global's name");
        const PickleValue* module = pop("a global's module");
        if (module->kind != PickleKind::string || name->kind != PickleKind::string) {
          fail("invalid pickle STACK_GLOBAL", "a module and a name as strings",
               describe(*module) + " and " + describe(*name));
        }
        return push(make_global(module->text, name->text));
      }
      case kReduce: {
        PickleValue* args = pop("arguments to call with");
        PickleValue* callable = pop("a callable");
        return push(call(callable, args));
      }
      case kNewObj: {
        pop("arguments for NEWOBJ");
        return push(instantiate(pop("a class"), "NEWOBJ"));
      }
      case kNewObjEx: {
        pop("keyword arguments for NEWOBJ_EX");
        pop("arguments for NEWOBJ_EX");
        return push(instantiate(pop("a class"), "NEWOBJ_EX"));
      }
      case kBuild: {
        const PickleValue* state = pop("a state to BUILD with");
        return build(top("an object to BUILD"), *state);
      }
      case kBinPersId: return push(persistent_load(*pop("a persistent id")));
      default: {
        const std::string_view name = opcode_name(op);
        std::string got = hex_byte(op);
        if (!name.empty()) got += " (" + std::string(name) + ")";
        fail("unsupported pickle opcode", "an opcode of pickle protocols 2 to 5 as torch.save writes them", got);
      }
    }
  }

  PickleDocument finish() {
    PickleValue* result = pop("the result for STOP");
    if (!marks_.empty() || !stack_.empty()) {
      fail("invalid pickle end", "STOP with exactly one value and no open MARK",
           std::to_string(stack_.size() + 1) + " values and " + std::to_string(marks_.size()) + " open MARKs");
    }
    document_.root_ = result;
    return std::move(document_);
  }

  std::span<const std::byte> bytes_;
  const std::string& source_;
  const std::string& record_;
  const PickleLimits& limits_;
  std::uint64_t pos_ = 0;
  std::uint64_t op_pos_ = 0;
  PickleDocument document_;
  std::vector<PickleValue*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, PickleValue*> memo_;
  std::unordered_map<const PickleValue*, std::unordered_map<std::string, std::size_t>> dict_index_;
};

PickleDocument read_pickle(std::span<const std::byte> bytes, const std::string& source, const std::string& record,
                           const PickleLimits& limits) {
  return Unpickler(bytes, source, record, limits).run();
}

const PickleValue* find_string_key(const PickleValue& dict, std::string_view key) noexcept {
  if (dict.kind != PickleKind::dict) return nullptr;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const PickleValue& candidate = *dict.items[i];
    if (candidate.kind == PickleKind::string && candidate.text == key) return dict.items[i + 1];
  }
  return nullptr;
}

std::string describe(const PickleValue& value) {
  const auto count = [](std::size_t n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
  };
  switch (value.kind) {
    case PickleKind::none: return "None";
    case PickleKind::boolean: return value.boolean ? "True" : "False";
    case PickleKind::integer: return "the int " + std::to_string(value.integer);
    case PickleKind::big_integer: return "an int wider than 64 bits";
    case PickleKind::floating: return "the float " + std::to_string(value.floating);
    case PickleKind::string: return "the string '" + printable_text(value.text, 60) + "'";
    case PickleKind::bytes: return "bytes (" + count(value.text.size(), "byte") + ")";
    case PickleKind::tuple: return "a tuple of " + count(value.items.size(), "item");
    case PickleKind::list: return "a list of " + count(value.items.size(), "item");
    case PickleKind::dict: {
      const std::size_t entries = value.items.size() / 2;
      return "a dict of " + std::to_string(entries) + (entries == 1 ? " entry" : " entries");
    }
    case PickleKind::set: return "a set of " + count(value.items.size(), "item");
    case PickleKind::global: return "the global " + printable_text(value.text, 120) + " (not imported)";
    case PickleKind::object: return "an object built by " + printable_text(value.text, 120) + " (not run)";
    case PickleKind::storage: return "a storage";
    case PickleKind::tensor: return "a tensor";
  }
  return "an unknown value";
}

}  // namespace autotimm::detail
