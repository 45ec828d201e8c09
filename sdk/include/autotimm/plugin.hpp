#pragma once
// The plugin ABI: one descriptor per library, returned by the only symbol the library exports.
//
//   AUTOTIMM_PLUGIN(resnet, {.version = "0.1.0", .license = "Apache-2.0",
//                            .description = "ResNet backbones, timm layout",
//                            .origin = "https://example.org/autotimm-resnet",
//                            .register_fn = &register_resnet})
//
// The macro fills in the ABI, SDK, torch and compiler fields; the loader refuses a library whose values differ from
// its own and says what to rebuild. The entry point returns constant data and runs no code: nothing registers at
// dlopen time, registration happens in register_fn once every check has passed.
#include <cstddef>
#include <cstdint>

#include "autotimm/export.hpp"
#include "autotimm/version.hpp"

namespace autotimm {

class Registrar;

/// Bump the major version for any change to an interface's virtual functions, to a struct that crosses the plugin
/// boundary, or to inline SDK code that plugins compile in. Additions that leave those alone bump the minor version.
/// Major 2: HubResolver gained prune_cache and remove_cached (its vtable changed). Minor 0 of major 2 includes what 1.1
/// added: StateDictAdapter (autotimm/state_dict_adapter.hpp), whose typeinfo plugins take from libautotimm.
/// Major 3: Callback gained validation/test/exception hooks and state_key, TrainingState gained fields,
/// TrainerHandle is new, and Logger gained log_dir, name and version.
/// Major 4: LoggerEntry gained sync (offline runs sent later). Minor 1: layers::BatchNorm2d, which distributed runs
/// can synchronise, exported by libautotimm.
/// Major 5: Backbone gained head_hidden_size (the pre-logits width where a backbone's own head layer changes it).
/// Major 6: HubResolver gained upload (its vtable changed), layers::BatchNorm2dImpl gained the state of a fold into its
/// convolution (its layout changed), and Backbone gained stage_output (stage taps for StageCapture).
inline constexpr std::uint32_t kPluginAbiMajor = 6;
inline constexpr std::uint32_t kPluginAbiMinor = 0;

/// Name of the exported entry point (and, in a static build, the prefix of its per-plugin twin).
inline constexpr const char* kPluginEntryPoint = "autotimm_plugin_descriptor";

using RegisterFn = void (*)(Registrar&);

/// What a plugin author writes: the fields a person decides.
struct PluginInfo {
  const char* version = nullptr;      ///< semver of the plugin, e.g. "0.1.0"
  const char* license = nullptr;      ///< SPDX id, e.g. "Apache-2.0"
  const char* description = nullptr;  ///< one line
  const char* origin = nullptr;       ///< URL of the plugin's home
  RegisterFn register_fn = nullptr;   ///< lists the plugin's entries
};

/// The descriptor as the loader reads it. The first three fields never move; new fields go at the end and
/// struct_size tells the loader which ones a library has.
struct PluginDescriptor {
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  std::uint32_t struct_size;
  const char* name;
  const char* version;
  const char* description;
  const char* license;
  const char* origin;
  const char* sdk_version;
  const char* torch_version;
  const char* cxx_abi;
  RegisterFn register_fn;
};

static_assert(offsetof(PluginDescriptor, abi_major) == 0);
static_assert(offsetof(PluginDescriptor, abi_minor) == 4);
static_assert(offsetof(PluginDescriptor, struct_size) == 8);

/// Compiler and C++ library ABI this translation unit is built with; a plugin must match the core exactly.
#if defined(__clang__)
#define AUTOTIMM_COMPILER_ID "clang"
#elif defined(__GNUC__)
#define AUTOTIMM_COMPILER_ID "gcc"
#else
#define AUTOTIMM_COMPILER_ID "unknown"
#endif
#define AUTOTIMM_STRINGIFY_IMPL(x) #x
#define AUTOTIMM_STRINGIFY(x) AUTOTIMM_STRINGIFY_IMPL(x)
#define AUTOTIMM_CXX_ABI                                                                \
  AUTOTIMM_COMPILER_ID " gxx_abi=" AUTOTIMM_STRINGIFY(__GXX_ABI_VERSION) " cxx11_abi=" \
      AUTOTIMM_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)

namespace detail {
constexpr PluginDescriptor make_descriptor(const char* name, const PluginInfo& info) {
  return PluginDescriptor{kPluginAbiMajor,   kPluginAbiMinor,    sizeof(PluginDescriptor),
                          name,              info.version,       info.description,
                          info.license,      info.origin,        kSdkVersion,
                          kTorchVersion,     AUTOTIMM_CXX_ABI,   info.register_fn};
}
}  // namespace detail

}  // namespace autotimm

#define AUTOTIMM_PLUGIN_DESCRIPTOR_DATA(name, ...)                                               \
  namespace {                                                                                    \
  constexpr ::autotimm::PluginDescriptor autotimm_plugin_descriptor_data_ =                      \
      ::autotimm::detail::make_descriptor(#name, ::autotimm::PluginInfo __VA_ARGS__);            \
  }

#if defined(AUTOTIMM_STATIC_PLUGIN)
// Linked statically (tests): a twin named after the plugin, so several plugins can share one binary.
#define AUTOTIMM_PLUGIN(name, ...)                                                               \
  AUTOTIMM_PLUGIN_DESCRIPTOR_DATA(name, __VA_ARGS__)                                             \
  extern "C" const ::autotimm::PluginDescriptor* autotimm_plugin_descriptor_##name() noexcept { \
    return &autotimm_plugin_descriptor_data_;                                                    \
  }
#else
#define AUTOTIMM_PLUGIN(name, ...)                                                               \
  AUTOTIMM_PLUGIN_DESCRIPTOR_DATA(name, __VA_ARGS__)                                             \
  extern "C" AUTOTIMM_API const ::autotimm::PluginDescriptor* autotimm_plugin_descriptor() noexcept { \
    return &autotimm_plugin_descriptor_data_;                                                    \
  }
#endif
