#pragma once
// The error hierarchy. Every failure a user can cause is one of these, with a message shaped
// "<what failed>: '<subject>': expected <x>, got <y>; <what to do>".
#include <stdexcept>
#include <string>

#include "autotimm/export.hpp"

namespace autotimm {

/// Base of every AutoTimm error; catch this to handle them all.
class AUTOTIMM_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

/// A name (backbone, head, tag, file) that is not known. The message lists the closest known names.
class AUTOTIMM_API NotFoundError : public Error {
 public:
  using Error::Error;
  ~NotFoundError() override;
};

/// An option that is unknown, of the wrong type or out of range.
class AUTOTIMM_API ConfigError : public Error {
 public:
  using Error::Error;
  ~ConfigError() override;
};

/// A file whose bytes do not follow its format (safetensors, checkpoint, config.json).
class AUTOTIMM_API FormatError : public Error {
 public:
  using Error::Error;
  ~FormatError() override;
};

/// A plugin library that cannot be used: not a library, no entry point, built for another ABI, failed to register.
class AUTOTIMM_API PluginError : public Error {
 public:
  using Error::Error;
  ~PluginError() override;
};

/// A model hub that refused or failed a request.
class AUTOTIMM_API HubError : public Error {
 public:
  using Error::Error;
  ~HubError() override;
};

/// An operating-system level input/output failure (open, read, write, rename).
class AUTOTIMM_API IoError : public Error {
 public:
  using Error::Error;
  ~IoError() override;
};

/// A training run that cannot go on: a NaN or Inf loss, a failed step.
class AUTOTIMM_API TrainingError : public Error {
 public:
  using Error::Error;
  ~TrainingError() override;
};

}  // namespace autotimm
