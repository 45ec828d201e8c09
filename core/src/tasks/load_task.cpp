#include "autotimm/tasks/load_task.hpp"

#include "autotimm/error.hpp"
#include "autotimm/tasks/image_classifier.hpp"
#include "autotimm/tasks/instance_segmentor.hpp"
#include "autotimm/tasks/object_detector.hpp"
#include "autotimm/tasks/semantic_segmentor.hpp"
#include "autotimm/trainer/checkpoint.hpp"

namespace autotimm {

std::shared_ptr<Task> load_task_from_checkpoint(const std::filesystem::path& path,
                                                const boost::json::object& overrides, Registry* registry) {
  const Checkpoint checkpoint = read_checkpoint(path);
  const auto* task = checkpoint.meta.if_contains("task");
  const std::string name = task != nullptr && task->is_string() ? std::string(task->as_string()) : std::string();
  if (name == "ObjectDetector") return ObjectDetector::load_from_checkpoint(path, overrides, registry);
  if (name == "ImageClassifier") return ImageClassifier::load_from_checkpoint(path, overrides, registry);
  if (name == "SemanticSegmentor") return SemanticSegmentor::load_from_checkpoint(path, overrides, registry);
  if (name == "InstanceSegmentor") return InstanceSegmentor::load_from_checkpoint(path, overrides, registry);
  throw FormatError("checkpoint '" + path.string() + "' holds " +
                    (name.empty() ? std::string("no task name") : "a " + name) +
                    "; this build loads ImageClassifier, ObjectDetector, SemanticSegmentor and InstanceSegmentor "
                    "checkpoints");
}

}  // namespace autotimm
