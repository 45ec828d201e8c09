#pragma once
// Synchronised BatchNorm for a training loop of your own: while the scope lives, autotimm::layers::BatchNorm2d
// layers running forward on this thread normalise training batches with statistics over every rank of `ranks`
// (AutoTrainer does this for sync_batchnorm = true). Every rank must run the same layers in the same order.
#include "autotimm/distributed/collective.hpp"
#include "autotimm/export.hpp"

namespace autotimm {

class AUTOTIMM_API SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(Collective& ranks);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

  /// The ranks BatchNorm synchronises over on this thread, or null.
  static Collective* current();

 private:
  Collective* previous_;
};

}  // namespace autotimm
