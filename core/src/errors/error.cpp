// Out-of-line destructors give each error type one typeinfo, in libautotimm, so a plugin's throw is caught by the
// core's catch.
#include "autotimm/error.hpp"

namespace autotimm {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;
NotFoundError::~NotFoundError() = default;
ConfigError::~ConfigError() = default;
FormatError::~FormatError() = default;
PluginError::~PluginError() = default;
HubError::~HubError() = default;
IoError::~IoError() = default;
TrainingError::~TrainingError() = default;

}  // namespace autotimm
