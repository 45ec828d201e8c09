#pragma once
// The message of the autotimm::Error that `action` throws, or "(no error)": lets a test compare whole messages.
#include <string>

#include "autotimm/error.hpp"

namespace autotimm::testing {

template <class Action>
std::string error_text(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace autotimm::testing
