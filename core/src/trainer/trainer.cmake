# Sources of core/src/trainer (AutoTrainer's loops, its options, the checkpoint file), core/src/callbacks (the
# built-in callbacks) and core/src/loggers (the built-in CSV logger, the run folder layout): added to the autotimm
# target.
target_sources(autotimm PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/auto_trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/auto_trainer_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/trainer_run.cpp
  ${CMAKE_CURRENT_LIST_DIR}/precision.cpp
  ${CMAKE_CURRENT_LIST_DIR}/grad_scaler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lr_find.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../tuner/lr_finder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scale_batch_size.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../tuner/batch_size_finder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/run_config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/model_checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/early_stopping.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/learning_rate_monitor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/model_summary.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/timer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/weight_averaging.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/progress_bar.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/builtin_callbacks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../loggers/csv_logger.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../loggers/log_dir.cpp
)
# Files that never include torch skip its precompiled header.
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/early_stopping.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/learning_rate_monitor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/timer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/progress_bar.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../callbacks/builtin_callbacks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../loggers/log_dir.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../tuner/batch_size_finder.cpp
  TARGET_DIRECTORY autotimm PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
