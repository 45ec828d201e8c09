# Tests of the PyTorch zip-checkpoint reader: archives built byte by byte as torch.save writes them, refusals with
# their exact messages, and the committed malformed corpus (tests/data/torch_checkpoint_malformed).
autotimm_add_test(io_torch_checkpoint_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/torch_checkpoint_test.cpp
  LABELS unit
  TORCH)
