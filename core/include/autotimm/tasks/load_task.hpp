#pragma once
// A trained task from a checkpoint alone, whatever its kind: the checkpoint names its task class.
//
//   auto task = autotimm::load_task_from_checkpoint("runs/logs/version_0/checkpoints/best.ckpt");
//   if (auto detector = std::dynamic_pointer_cast<autotimm::ObjectDetector>(task)) { ... }
#include <filesystem>
#include <memory>

#include <boost/json/object.hpp>

#include "autotimm/export.hpp"
#include "autotimm/tasks/task.hpp"

namespace autotimm {

class Registry;

/// ImageClassifier's, ObjectDetector's, SemanticSegmentor's or InstanceSegmentor's load_from_checkpoint, as the
/// checkpoint says.
/// FormatError for a file that is not a checkpoint or holds a task this build does not know.
AUTOTIMM_API std::shared_ptr<Task> load_task_from_checkpoint(const std::filesystem::path& path,
                                                             const boost::json::object& overrides = {},
                                                             Registry* registry = nullptr);

}  // namespace autotimm
