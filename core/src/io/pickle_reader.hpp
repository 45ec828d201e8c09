#pragma once
// A restricted unpickler for the data.pkl record of torch.save's zip checkpoints (docs/formats.md §2.2). Private to
// core/src/io; torch-free.
//
// It runs nothing. Pickle opcodes are interpreted over a value tree: containers are built, and only these globals
// mean something:
//   collections.OrderedDict                 → a dict
//   torch._utils._rebuild_tensor_v2         → a tensor description (storage, offset, size, stride, conj/neg bits)
//   torch._utils._rebuild_parameter         → the same tensor (torch.nn.Parameter is a tensor for a state dict)
//   torch._utils._rebuild_parameter_with_state, torch._tensor._rebuild_from_type_v2 (for Tensor/Parameter)
//   torch.<T>Storage inside a persistent id → a storage reference ('storage', type, key, location, numel)
// Any other global (argparse.Namespace in a timm training checkpoint, numpy scalars, os.system) becomes an opaque
// object that only remembers the global's name: it is never looked up or called, so a checkpoint that holds one
// away from its tensors still loads, and using one where a tensor is expected is an error naming the global.
// The stack, mark stack, memo and the number of values are bounded; every read is bounds-checked.
#include "printable_text.hpp"
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace autotimm::detail {

enum class PickleKind : std::uint8_t {
  none,
  boolean,
  integer,      // fits in int64
  big_integer,  // LONG1/LONG4 wider than int64: kept only as "some int"
  floating,
  string,
  bytes,
  tuple,
  list,
  dict,
  set,
  global,   // a GLOBAL/STACK_GLOBAL reference, never resolved
  object,   // the result of calling or instantiating a global that is not on the allow-list; never built
  storage,  // a persistent id naming a storage record
  tensor,
};

/// A persistent id: ('storage', torch.<type>, '<key>', '<location>', numel).
struct PickleStorageRef {
  std::string type;      // the global's name inside module torch, e.g. "FloatStorage"
  std::string key;       // the record is <prefix>/data/<key>
  std::string location;  // e.g. "cpu", "cuda:0"; loading always goes to the CPU
  std::int64_t numel = 0;
};

/// The arguments of one _rebuild_tensor_v2 call, checked for their types (not yet against the storage record).
struct PickleTensorRef {
  const PickleStorageRef* storage = nullptr;
  std::int64_t storage_offset = 0;
  std::vector<std::int64_t> size;
  std::vector<std::int64_t> stride;
  bool negative = false;   // metadata {"neg": True}: the values are the stored ones negated
  bool conjugate = false;  // metadata {"conj": True}: the values are the stored ones conjugated
};

struct PickleValue {
  PickleKind kind = PickleKind::none;
  bool boolean = false;
  std::int64_t integer = 0;
  double floating = 0;
  std::string text;                        // string and bytes contents; global and object: "module.name"
  std::vector<PickleValue*> items;         // tuple, list, set; dict: key, value, key, value, … in insertion order
  const PickleStorageRef* storage = nullptr;
  const PickleTensorRef* tensor = nullptr;
};

/// The value tree of one pickle; the values live as long as the document (move-only).
class PickleDocument {
 public:
  PickleDocument() = default;
  PickleDocument(PickleDocument&&) noexcept = default;
  PickleDocument& operator=(PickleDocument&&) noexcept = default;
  PickleDocument(const PickleDocument&) = delete;
  PickleDocument& operator=(const PickleDocument&) = delete;

  const PickleValue& root() const noexcept { return *root_; }

 private:
  friend class Unpickler;
  std::deque<PickleValue> values_;
  std::deque<PickleStorageRef> storages_;
  std::deque<PickleTensorRef> tensors_;
  const PickleValue* root_ = nullptr;
};

/// Limits on what one pickle may build; exceeding one is a FormatError that names the limit.
struct PickleLimits {
  std::size_t max_stack = std::size_t{1} << 20;    // values on the stack at once
  std::size_t max_marks = 1000;                    // open MARKs (nesting depth)
  std::size_t max_memo = std::size_t{1} << 22;     // memo entries
  std::size_t max_values = std::size_t{1} << 22;   // values created in total
  std::size_t max_global_line = 1024;              // bytes in a GLOBAL module or name line
};

/// Interprets `bytes` (the record `record` of the file `source`, an absolute path, both for messages). Anything that
/// is not a well-formed pickle of the supported opcodes, or that breaks a limit, is a FormatError.
PickleDocument read_pickle(std::span<const std::byte> bytes, const std::string& source, const std::string& record,
                           const PickleLimits& limits = {});

/// The value stored under the string key `key` of `dict` (a dict value), or nullptr.
const PickleValue* find_string_key(const PickleValue& dict, std::string_view key) noexcept;

/// A short description of `value` for messages: "the int 3", "a dict of 2 entries", "an object built by
/// argparse.Namespace (not run)", …
std::string describe(const PickleValue& value);

}  // namespace autotimm::detail
