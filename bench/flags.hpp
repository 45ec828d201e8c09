#pragma once
// The command line of a benchmark: each flag bound to the variable it sets, then parsed in one go.
//
//   std::int64_t batch = 16;
//   bool channels_last = false;
//   autotimm::bench::Flags().value("--batch", batch).on("--channels-last", channels_last).parse(argc, argv);
//
// `--name VALUE` sets a string or a number (whole numbers for integers); a switch takes no value. An unknown flag, a
// missing value or a value that is not a number is std::invalid_argument naming the flag.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace autotimm::bench {

class Flags {
 public:
  Flags& value(const char* name, std::string& target) { return bind(name, &target); }
  Flags& value(const char* name, std::int64_t& target) { return bind(name, &target); }
  Flags& value(const char* name, int& target) { return bind(name, &target); }
  Flags& value(const char* name, double& target) { return bind(name, &target); }
  /// A switch: present sets `target` to true.
  Flags& on(const char* name, bool& target) { return bind(name, &target); }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      const Binding* binding = find(flag);
      if (binding == nullptr) throw std::invalid_argument("unknown flag " + flag + "; known:" + known());
      if (auto* target = std::get_if<bool*>(&binding->target)) {
        **target = true;
        continue;
      }
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      set(*binding, argv[++i]);
    }
  }

 private:
  using Target = std::variant<std::string*, std::int64_t*, int*, double*, bool*>;
  struct Binding {
    std::string name;
    Target target;
  };

  Flags& bind(const char* name, Target target) {
    bindings_.push_back({name, target});
    return *this;
  }

  const Binding* find(const std::string& flag) const {
    for (const auto& binding : bindings_) {
      if (binding.name == flag) return &binding;
    }
    return nullptr;
  }

  std::string known() const {
    std::string names;
    for (const auto& binding : bindings_) names += " " + binding.name;
    return names;
  }

  static void set(const Binding& binding, const std::string& text) {
    std::size_t used = 0;
    try {
      if (auto* s = std::get_if<std::string*>(&binding.target)) {
        **s = text;
        return;
      }
      if (auto* i64 = std::get_if<std::int64_t*>(&binding.target)) **i64 = std::stoll(text, &used);
      if (auto* i = std::get_if<int*>(&binding.target)) **i = std::stoi(text, &used);
      if (auto* d = std::get_if<double*>(&binding.target)) **d = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size()) throw std::invalid_argument(binding.name + " expects a number, got '" + text + "'");
  }

  std::vector<Binding> bindings_;
};

}  // namespace autotimm::bench
