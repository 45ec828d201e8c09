// The Collective interface's out-of-line pieces (its vtable lives here).
#include "autotimm/distributed/collective.hpp"

namespace autotimm {

Collective::~Collective() = default;

}  // namespace autotimm
