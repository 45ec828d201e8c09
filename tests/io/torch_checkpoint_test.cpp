// PyTorch zip checkpoints (load_torch_checkpoint). No Python torch here, and C++ torch::save writes TorchScript
// archives, so the fixtures are built byte by byte as Python's torch.save writes them: a zip of stored records whose
// data start 64-byte aligned (an 'FB' filler block in the local extra field), and a protocol-2 data.pkl emitted
// opcode by opcode with CPython's memoization (docs/formats.md §2). Covered: dtypes, scalars, strided and shared
// views, Parameters, timm training checkpoints, ZIP64, protocol 4, every refusal with its message, a byte-flip and
// truncation sweep, and the committed malformed corpus (tests/data/torch_checkpoint_malformed).
#include <torch/torch.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "autotimm/error.hpp"
#include "autotimm/io/torch_checkpoint.hpp"
#include "io_test_support.hpp"
#include "support/malformed_corpus.hpp"
#include "support/torch_checkpoint_writer.hpp"

namespace autotimm {
namespace {

using namespace autotimm::testing::torch_zip;

// A small valid checkpoint: w = 2×3 float32 0..5, n = int64 scalar 7.
std::string small_checkpoint() {
  const std::string pickle = state_dict_pickle({
      {"w", {.numel = 6, .size = {2, 3}, .stride = {3, 1}}},
      {"n", {.storage_type = "LongStorage", .key = "1", .numel = 1, .size = {}, .stride = {}}},
  });
  return torch_zip(pickle, {{"0", bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5})},
                            {"1", bytes_of(std::vector<std::int64_t>{7})}});
}

// A pickle whose state dict value is written by `value`; storage '0' holds 6 floats.
std::string checkpoint_with_value(const std::function<void(PickleWriter&)>& value, int protocol = 2) {
  PickleWriter w(protocol);
  w.ordered_dict({{"w", [&] { value(w); }}});
  return torch_zip(w.finish(), {{"0", bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5})}});
}

// A checkpoint whose data.pkl is `pickle` as given (no storages).
std::string checkpoint_with_pickle(const std::string& pickle) { return torch_zip(pickle, {}); }

// ---------------------------------------------------------------------------------------------------------------

class TorchCheckpoint : public testing::ScratchDirTest {
 protected:
  // Removes the file first: truncating and rewriting a file makes ext4 flush it to disk on close (auto_da_alloc),
  // which turns thousands of rewrites into seconds of I/O wait.
  std::filesystem::path write(std::string_view bytes, const std::string& name = "ckpt.pth") {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::remove(path);
    testing::write_file(path, bytes);
    return path;
  }

  // The message of the FormatError that loading `bytes` throws, with the file's path replaced by <path>.
  std::string format_error_of(std::string_view bytes, const TorchCheckpointOptions& options = {}) {
    const std::filesystem::path path = write(bytes);
    try {
      load_torch_checkpoint(path, options);
    } catch (const FormatError& error) {
      std::string message = error.what();
      const std::string where = path.string();
      for (std::size_t at; (at = message.find(where)) != std::string::npos;) message.replace(at, where.size(), "<path>");
      return message;
    } catch (const std::exception& error) {
      return std::string("(other exception) ") + error.what();
    }
    return "(no error)";
  }
};

#define EXPECT_MESSAGE_HAS(message, fragment)                                          \
  do {                                                                                 \
    const std::string message_ = (message);                                            \
    EXPECT_NE(message_.find(fragment), std::string::npos) << "message: " << message_; \
  } while (0)

TEST_F(TorchCheckpoint, LoadsFloat32Float16BFloat16Int64BoolAndScalars) {
  const at::Tensor half = torch::tensor({0.5, -1.25, 3.0, 65504.0}).to(torch::kHalf);
  const at::Tensor bf16 = torch::tensor({1.5, -2.0}).to(torch::kBFloat16);
  const std::string pickle = state_dict_pickle({
      {"conv.weight", {.numel = 6, .size = {2, 3, 1, 1}, .stride = {3, 1, 1, 1}}},
      {"ln.weight", {.storage_type = "HalfStorage", .key = "1", .numel = 4, .size = {4}, .stride = {1}}},
      {"ln.bias", {.storage_type = "BFloat16Storage", .key = "2", .numel = 2, .size = {2}, .stride = {1}}},
      {"bn.num_batches_tracked", {.storage_type = "LongStorage", .key = "3", .numel = 1, .size = {}, .stride = {}}},
      {"mask", {.storage_type = "BoolStorage", .key = "4", .numel = 3, .size = {3}, .stride = {1}}},
      {"scale", {.storage_type = "DoubleStorage", .key = "5", .numel = 1, .size = {}, .stride = {}}},
  });
  const std::filesystem::path path = write(torch_zip(
      pickle, {{"0", bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5})},
               {"1", bytes_of(half)},
               {"2", bytes_of(bf16)},
               {"3", bytes_of(std::vector<std::int64_t>{-9000000000})},
               {"4", bin("\x01\x00\x01")},
               {"5", bytes_of(std::vector<double>{0.25})}}));

  const auto state = load_torch_checkpoint(path);
  ASSERT_EQ(state.size(), 6u);
  EXPECT_TRUE(state.at("conv.weight").equal(torch::arange(6, torch::kFloat).reshape({2, 3, 1, 1})));
  EXPECT_EQ(state.at("ln.weight").scalar_type(), torch::kHalf);
  EXPECT_TRUE(state.at("ln.weight").to(torch::kFloat).equal(half.to(torch::kFloat)));
  EXPECT_EQ(state.at("ln.bias").scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(state.at("ln.bias").to(torch::kFloat).equal(bf16.to(torch::kFloat)));
  EXPECT_EQ(state.at("bn.num_batches_tracked").dim(), 0);
  EXPECT_EQ(state.at("bn.num_batches_tracked").scalar_type(), torch::kLong);
  EXPECT_EQ(state.at("bn.num_batches_tracked").item<std::int64_t>(), -9000000000);
  EXPECT_TRUE(state.at("mask").equal(torch::tensor({true, false, true})));
  EXPECT_EQ(state.at("scale").scalar_type(), torch::kDouble);
  EXPECT_EQ(state.at("scale").item<double>(), 0.25);

  const auto as_float = load_torch_checkpoint(path, torch::kFloat32);
  EXPECT_EQ(as_float.at("ln.weight").scalar_type(), torch::kFloat);
  EXPECT_TRUE(as_float.at("ln.weight").equal(half.to(torch::kFloat)));
  EXPECT_EQ(as_float.at("ln.bias").scalar_type(), torch::kFloat);
  EXPECT_EQ(as_float.at("scale").scalar_type(), torch::kFloat);
  EXPECT_EQ(as_float.at("bn.num_batches_tracked").scalar_type(), torch::kLong);  // integers keep their dtype
  EXPECT_EQ(as_float.at("mask").scalar_type(), torch::kBool);

  const auto as_half = load_torch_checkpoint(path, TorchCheckpointOptions{.floating_target = torch::kHalf});
  EXPECT_EQ(as_half.at("conv.weight").scalar_type(), torch::kHalf);
}

TEST_F(TorchCheckpoint, StridedViewsAndSharedStoragesBecomeIndependentContiguousCopies) {
  // One storage of 12 floats 0..11 behind four tensors, as torch.save keeps views of one tensor.
  const std::string pickle = state_dict_pickle({
      {"full", {.numel = 12, .size = {3, 4}, .stride = {4, 1}}},
      {"transposed", {.numel = 12, .size = {4, 3}, .stride = {1, 4}}},
      {"block", {.numel = 12, .offset = 5, .size = {2, 2}, .stride = {4, 1}}},
      {"column", {.numel = 12, .offset = 2, .size = {3}, .stride = {4}}},
  });
  std::vector<float> values(12);
  for (int i = 0; i < 12; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const auto state = load_torch_checkpoint(write(torch_zip(pickle, {{"0", bytes_of(values)}})));

  const at::Tensor reference = torch::arange(12, torch::kFloat);
  EXPECT_TRUE(state.at("full").equal(reference.reshape({3, 4})));
  EXPECT_TRUE(state.at("transposed").equal(reference.reshape({3, 4}).t()));
  EXPECT_TRUE(state.at("block").equal(torch::tensor({{5.f, 6.f}, {9.f, 10.f}})));
  EXPECT_TRUE(state.at("column").equal(torch::tensor({2.f, 6.f, 10.f})));
  for (const auto& [name, tensor] : state) EXPECT_TRUE(tensor.is_contiguous()) << name;
  state.at("full").fill_(-1);
  EXPECT_EQ(state.at("block")[0][0].item<float>(), 5.f) << "views must not alias after loading";
}

TEST_F(TorchCheckpoint, LoadsParametersTensorsWithPythonStateAndGpuLocations) {
  PickleWriter w;
  w.ordered_dict({
      {"param", [&] { write_tensor(w, {.numel = 6, .size = {2, 3}, .stride = {3, 1}, .parameter = true}); }},
      {"cuda", [&] { write_tensor(w, {.numel = 6, .size = {6}, .stride = {1}, .location = "cuda:0"}); }},
      // torch writes _rebuild_from_type_v2(func, Tensor, args, state) for a tensor with Python attributes.
      {"typed",
       [&] {
         w.global("torch._tensor", "_rebuild_from_type_v2");
         w.tuple({[&] { w.global("torch._utils", "_rebuild_tensor_v2"); },
                  [&] { w.global("torch._tensor", "Tensor"); },
                  [&] {
                    w.tuple({[&] {
                               w.tuple({[&] { w.str("storage"); }, [&] { w.global("torch", "FloatStorage"); },
                                        [&] { w.str("0"); }, [&] { w.str("cpu"); }, [&] { w.integer(6); }});
                               w.op('Q');
                             },
                             [&] { w.integer(1); }, [&] { w.int_tuple({2}); }, [&] { w.int_tuple({1}); },
                             [&] { w.boolean(false); }, [&] { w.ordered_dict({}); }});
                  },
                  [&] { w.dict({{"tag", [&] { w.str("x"); }}}); }});
         w.op('R');
         w.put();
       }},
      {"negated", [&] { write_tensor(w, {.numel = 6, .size = {3}, .stride = {1}, .metadata = {{"neg", true}}}); }},
      {"plain_metadata", [&] { write_tensor(w, {.numel = 6, .size = {1}, .stride = {1}, .metadata = {{"conj", false}}}); }},
  }, /*metadata=*/true);
  const auto state =
      load_torch_checkpoint(write(torch_zip(w.finish(), {{"0", bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5})}})));
  EXPECT_TRUE(state.at("param").equal(torch::arange(6, torch::kFloat).reshape({2, 3})));
  EXPECT_FALSE(state.at("param").requires_grad());
  EXPECT_TRUE(state.at("cuda").device().is_cpu());
  EXPECT_TRUE(state.at("typed").equal(torch::tensor({1.f, 2.f})));
  EXPECT_TRUE(state.at("negated").equal(torch::tensor({-0.f, -1.f, -2.f})));
  EXPECT_TRUE(state.at("plain_metadata").equal(torch::tensor({0.f})));
}

// A timm training checkpoint (train.py's CheckpointSaver): epoch, arch, args (argparse.Namespace), state_dict with
// DDP prefixes, optimizer state with int keys, EMA weights, a metric.
std::string timm_training_checkpoint(const std::string& marker) {
  PickleWriter w;
  const auto weights = [&](const std::string& prefix, const std::string& key) {
    return [&w, prefix, key] {
      w.ordered_dict({{prefix + "fc.weight", [&w, key] { write_tensor(w, {.key = key, .numel = 2, .size = {2}, .stride = {1}}); }},
                      {prefix + "fc.bias", [&w, key] { write_tensor(w, {.key = key, .numel = 2, .offset = 1, .size = {1}, .stride = {1}}); }}},
                     /*metadata=*/true);
    };
  };
  w.dict({
      {"epoch", [&] { w.integer(3); }},
      {"arch", [&] { w.str("resnet18"); }},
      {"args",
       [&] {  // object.__reduce_ex__(2): copyreg.__newobj__ → NEWOBJ, then the instance __dict__ via BUILD
         w.global("argparse", "Namespace");
         w.op(')').op('\x81');
         w.put();
         w.dict({{"model", [&] { w.str("resnet18"); }},
                 {"lr", [&] { w.floating(0.05); }},
                 {"seed", [&] { w.raw(std::string("\x8a\x09", 2) + std::string(8, '\xff') + std::string(1, '\x00')); }},
                 {"hook", [&] {  // os.system('touch marker'): must never run
                    w.global("os", "system");
                    w.tuple({[&] { w.str("touch " + marker); }});
                    w.op('R');
                    w.put();
                  }},
                 {"sizes", [&] {
                    w.op(']');
                    w.put();
                    w.op('(');
                    w.integer(224);
                    w.integer(288);
                    w.op('e');
                  }},
                 {"nothing", [&] { w.none(); }}});
         w.op('b');
       }},
      {"state_dict", weights("module.", "0")},
      {"optimizer",
       [&] {
         w.dict({{"state", [&] {
                    w.op('}');
                    w.put();
                    w.integer(0);
                    w.dict({{"momentum_buffer", [&] { write_tensor(w, {.key = "2", .numel = 2, .size = {2}, .stride = {1}}); }}});
                    w.op('s');
                  }},
                 {"param_groups", [&] {
                    w.op(']');
                    w.put();
                    w.dict({{"lr", [&] { w.floating(0.05); }}, {"params", [&] { w.int_tuple({0, 1}); }}});
                    w.op('a');
                  }}});
       }},
      {"version", [&] { w.integer(2); }},
      {"state_dict_ema", weights("module._orig_mod.", "1")},
      {"metric", [&] { w.floating(71.5); }},
  });
  return torch_zip(w.finish(), {{"0", bytes_of(std::vector<float>{1, 2})},
                                {"1", bytes_of(std::vector<float>{10, 20})},
                                {"2", bytes_of(std::vector<float>{0, 0})}});
}

TEST_F(TorchCheckpoint, UnwrapsTimmTrainingCheckpointsWithoutRunningTheirGlobals) {
  const std::filesystem::path marker = dir_ / "executed";
  const std::filesystem::path path = write(timm_training_checkpoint(marker.string()), "model_best.pth.tar");

  const auto state = load_torch_checkpoint(path);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_TRUE(state.at("fc.weight").equal(torch::tensor({1.f, 2.f})));
  EXPECT_TRUE(state.at("fc.bias").equal(torch::tensor({2.f})));

  const auto ema = load_torch_checkpoint(path, {.use_ema = true});
  ASSERT_EQ(ema.size(), 2u);  // 'module.' then '_orig_mod.' stripped
  EXPECT_TRUE(ema.at("fc.weight").equal(torch::tensor({10.f, 20.f})));
  EXPECT_TRUE(ema.at("fc.bias").equal(torch::tensor({20.f})));
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a global from the file was run";
}

TEST_F(TorchCheckpoint, UnwrapOrderFollowsTimm) {
  const std::string storage = bytes_of(std::vector<float>{1, 2, 3});
  const auto one = [](PickleWriter& writer, const std::string& name, std::int64_t offset) {
    PickleWriter* w = &writer;
    return std::pair<std::string, std::function<void()>>(name, [w, offset] {
      w->ordered_dict({{"x", [w, offset] { write_tensor(*w, {.numel = 3, .offset = offset, .size = {}, .stride = {}}); }}});
    });
  };
  {  // 'model' when there is no 'state_dict'; 'model_ema' with use_ema
    PickleWriter w;
    w.dict({one(w, "model", 0), one(w, "model_ema", 1)});
    const std::filesystem::path path = write(torch_zip(w.finish(), {{"0", storage}}), "a.pth");
    EXPECT_EQ(load_torch_checkpoint(path).at("x").item<float>(), 1.f);
    EXPECT_EQ(load_torch_checkpoint(path, {.use_ema = true}).at("x").item<float>(), 2.f);
  }
  {  // 'state_dict' wins over 'model'; use_ema without EMA weights falls back to it; 'state_dict_ema' = None skipped
    PickleWriter w;
    w.dict({one(w, "model", 0), one(w, "state_dict", 2), {"state_dict_ema", [&] { w.none(); }}});
    const std::filesystem::path path = write(torch_zip(w.finish(), {{"0", storage}}), "b.pth");
    EXPECT_EQ(load_torch_checkpoint(path).at("x").item<float>(), 3.f);
    EXPECT_EQ(load_torch_checkpoint(path, {.use_ema = true}).at("x").item<float>(), 3.f);
  }
  {  // a plain state dict holding a tensor named 'model' is not unwrapped
    PickleWriter w;
    w.ordered_dict({{"model", [&] { write_tensor(w, {.numel = 3, .size = {3}, .stride = {1}}); }},
                    {"module.head", [&] { write_tensor(w, {.numel = 3, .size = {1}, .stride = {1}}); }},
                    {"_orig_mod.module.x", [&] { write_tensor(w, {.numel = 3, .size = {1}, .stride = {1}}); }}});
    const auto state = load_torch_checkpoint(write(torch_zip(w.finish(), {{"0", storage}}), "c.pth"));
    EXPECT_EQ(state.size(), 3u);
    EXPECT_TRUE(state.contains("model"));
    EXPECT_TRUE(state.contains("head"));
    EXPECT_TRUE(state.contains("module.x")) << "timm strips 'module.' before '_orig_mod.', each once";
  }
}

TEST_F(TorchCheckpoint, ReadsZip64AnyFolderNameUnalignedRecordsAndProtocol4) {
  const std::string pickle = state_dict_pickle({{"w", {.numel = 6, .size = {2, 3}, .stride = {3, 1}}}});
  const std::string data = bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5});
  const at::Tensor expected = torch::arange(6, torch::kFloat).reshape({2, 3});

  EXPECT_TRUE(load_torch_checkpoint(write(torch_zip(pickle, {{"0", data}}, {.zip64 = true}), "zip64.pth"))
                  .at("w").equal(expected));

  EXPECT_TRUE(load_torch_checkpoint(write(zip_file(torch_records(pickle, {{"0", data}}, "pytorch_model")),
                                          "pytorch_model.bin")).at("w").equal(expected));

  std::vector<ZipRecord> unaligned = torch_records(pickle, {{"0", data}});
  for (ZipRecord& record : unaligned) record.align = false;
  EXPECT_TRUE(load_torch_checkpoint(write(zip_file(unaligned), "unaligned.pth")).at("w").equal(expected));

  const std::string protocol4 = state_dict_pickle({{"w", {.numel = 6, .size = {2, 3}, .stride = {3, 1}}}}, 4);
  ASSERT_EQ(protocol4[2], '\x95') << "expected a FRAME";
  EXPECT_TRUE(load_torch_checkpoint(write(torch_zip(protocol4, {{"0", data}}), "p4.pth")).at("w").equal(expected));

  // Over 1000 entries: several MARK … SETITEMS batches, and LONG_BINPUT / LONG_BINGET past memo index 255.
  std::vector<std::pair<std::string, TensorSpec>> many;
  for (int i = 0; i < 1200; ++i) many.push_back({"t" + std::to_string(i), {.numel = 6, .offset = i % 6, .size = {}, .stride = {}}});
  const auto state = load_torch_checkpoint(write(torch_zip(state_dict_pickle(many), {{"0", data}}), "many.pth"));
  ASSERT_EQ(state.size(), 1200u);
  EXPECT_EQ(state.at("t1199").item<float>(), 5.f);
}

TEST_F(TorchCheckpoint, RefusesWhatIsNotAZipCheckpoint) {
  EXPECT_EQ(format_error_of(""),
            "empty torch checkpoint: '<path>': expected a zip archive written by torch.save (torch >= 1.6), got 0 "
            "bytes; the file is empty (an interrupted download or save?); download or save it again");
  const std::string legacy = bin("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.");
  EXPECT_EQ(format_error_of(legacy),
            "not a torch zip checkpoint: '<path>': expected a zip archive written by torch.save (torch >= 1.6, "
            "starting with PK\\x03\\x04), got the legacy format of torch < 1.6; load it once with torch >= 1.6 and "
            "save it again (torch.save(torch.load(path), path)), or convert it to safetensors");
  EXPECT_MESSAGE_HAS(format_error_of("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 12\n"),
                     "got a Git LFS pointer file; the weights were never downloaded");
  EXPECT_MESSAGE_HAS(format_error_of(testing::little_endian_u64(2) + "{}"),
                     "got what looks like a safetensors file; load it with autotimm::load_safetensors");
  EXPECT_MESSAGE_HAS(format_error_of("hello"), "got bytes 68 65 6c 6c; re-save the weights with");
}

TEST_F(TorchCheckpoint, RefusesBrokenArchivesWithExactMessages) {
  const std::string good = small_checkpoint();
  EXPECT_EQ(format_error_of(good.substr(0, good.size() / 2)),
            "zip end-of-central-directory record not found: '<path>': expected the signature PK\\x05\\x06 within the "
            "last 65557 bytes, got none in " + std::to_string(good.size() / 2) +
                " bytes; the file is truncated (an interrupted download?) or not a zip archive; download or save it "
                "again");

  std::vector<ZipRecord> compressed = torch_records("x", {});
  compressed[0].method = 8;
  EXPECT_EQ(format_error_of(zip_file(compressed)),
            "compressed zip entry: entry 'archive/data.pkl' in '<path>': expected stored (uncompressed) data, as "
            "torch.save writes it, got compression method 8 (deflate); re-save the file with torch.save (which never "
            "compresses) or convert it to safetensors");

  std::vector<ZipRecord> encrypted = torch_records("x", {});
  encrypted[1].flags = 1;
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(encrypted)), "encrypted zip entry: entry 'archive/byteorder' in '<path>'");

  EXPECT_EQ(format_error_of(zip_file({{.name = "archive/version", .data = "3\n"}})),
            "missing data.pkl in torch checkpoint: '<path>': expected a record '<folder>/data.pkl', as torch.save "
            "writes, got only 'archive/version'; the zip archive was not written by torch.save; re-save the weights "
            "with torch.save(model.state_dict(), path) from torch >= 1.6, or convert them to safetensors");
  EXPECT_MESSAGE_HAS(format_error_of(zip_file({})), "got an empty archive");

  std::vector<ZipRecord> oversized = torch_records(state_dict_pickle({}), {});
  oversized[1].size = 1u << 20;
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(oversized)),
                     "zip entry data out of bounds: entry 'archive/byteorder' in '<path>': expected data ending "
                     "before the central directory at byte");

  std::vector<ZipRecord> misplaced = torch_records(state_dict_pickle({}), {});
  misplaced[1].local_offset = 3;
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(misplaced)),
                     "invalid zip local header: entry 'archive/byteorder' in '<path>': expected the signature "
                     "PK\\x03\\x04 at byte 3");
  misplaced[1].local_offset = 0x7ffffff0;
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(misplaced)), "got an offset out of range");

  std::vector<ZipRecord> renamed = torch_records(state_dict_pickle({}), {});
  renamed[1].local_name = "archive/byteordex";
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(renamed)),
                     "expected the same name as the central directory, got 'archive/byteordex'");

  std::vector<ZipRecord> twice = torch_records(state_dict_pickle({}), {});
  twice.push_back(twice[1]);
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(twice)),
                     "duplicate zip entry: '<path>': expected each name once, got 'archive/byteorder' twice");

  EXPECT_MESSAGE_HAS(format_error_of(torch_zip(state_dict_pickle({}), {}, {.directory_offset = 1u << 30})),
                     "zip central directory out of bounds");
  EXPECT_MESSAGE_HAS(format_error_of(torch_zip(state_dict_pickle({}), {}, {.zip64 = true, .drop_zip64_locator = true})),
                     "zip64 locator missing");

  std::string flipped = good;
  const std::size_t data_at = flipped.find(std::string("\x00\x00\x80\x3f", 4));  // the float 1.0 of w
  ASSERT_NE(data_at, std::string::npos);
  flipped[data_at + 3] = '\x40';
  EXPECT_MESSAGE_HAS(format_error_of(flipped), "CRC-32 mismatch in zip entry 'archive/data/0': '<path>': expected 0x");

  std::vector<ZipRecord> big_endian = torch_records(state_dict_pickle({}), {});
  big_endian[1].data = "big";
  EXPECT_EQ(format_error_of(zip_file(big_endian)),
            "unsupported byte order in torch checkpoint: '<path>': expected 'little', got 'big'; load and save it "
            "again with torch on a little-endian machine, or convert it to safetensors");
}

TEST_F(TorchCheckpoint, RefusesBrokenPicklesWithExactMessages) {
  EXPECT_EQ(format_error_of(checkpoint_with_pickle(bin("\x80\x02R."))),
            "pickle stack underflow at byte 2 of archive/data.pkl: '<path>': expected arguments to call with on the "
            "stack, got an empty stack; the file is corrupt or was not written by torch.save; re-save the weights "
            "with torch.save(model.state_dict(), path) or convert them to safetensors");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02N(s."))),
                     "pickle stack underflow at byte 4 of archive/data.pkl: '<path>': expected a value to set on the "
                     "stack, got nothing above the last MARK");
  EXPECT_EQ(format_error_of(checkpoint_with_pickle(bin("\x80\x02}q\x00"))),
            "truncated pickle at byte 5 of archive/data.pkl: '<path>': expected a STOP opcode, got the end of the "
            "record after 5 bytes; the file is corrupt or was not written by torch.save; re-save the weights with "
            "torch.save(model.state_dict(), path) or convert them to safetensors");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02X\xff\xff\x00\x00" "ab"))),
                     "truncated pickle at byte 2 of archive/data.pkl: '<path>': expected 65535 bytes of a string, got "
                     "only 2 left");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02(d."))),
                     "unsupported pickle opcode at byte 3 of archive/data.pkl: '<path>': expected an opcode of pickle "
                     "protocols 2 to 5 as torch.save writes them, got 0x64 (DICT)");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x06}."))),
                     "unsupported pickle protocol at byte 0 of archive/data.pkl: '<path>': expected 2 (torch.save's "
                     "default) up to 5, got 6");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02h\x05."))),
                     "pickle memo miss at byte 2 of archive/data.pkl: '<path>': expected a value stored under memo "
                     "index 5, got none");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02}}."))),
                     "invalid pickle end at byte 4 of archive/data.pkl: '<path>': expected STOP with exactly one value "
                     "and no open MARK, got 2 values and 0 open MARKs");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02" "cos\nsystem"))),
                     "truncated pickle at byte 2 of archive/data.pkl: '<path>': expected a newline ending the GLOBAL name");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle("\x80\x02" "c" + std::string(2000, 'a') + "\nb\n.")),
                     "pickle GLOBAL line too long at byte 2 of archive/data.pkl: '<path>': expected at most 1024 bytes");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(bin("\x80\x02K\x01K\x02K\x03s."))),
                     "invalid pickle SETITEM at byte 8 of archive/data.pkl: '<path>': expected a dict, got the int 1");
}

TEST_F(TorchCheckpoint, RefusesPicklesBeyondTheLimits) {
  EXPECT_EQ(format_error_of(checkpoint_with_pickle("\x80\x02" + std::string(1001, '('))),
            "pickle nesting too deep at byte 1002 of archive/data.pkl: '<path>': expected at most 1000 open MARKs, got "
            "more; the file is corrupt or was not written by torch.save; re-save the weights with "
            "torch.save(model.state_dict(), path) or convert them to safetensors");
  // Over a million items in one container: each BINGET pushes the same memoized value, so memory stays small.
  std::string wide = bin("\x80\x02Nq\x00(");
  for (int i = 0; i <= (1 << 20); ++i) wide += std::string("h\x00", 2);
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(wide + "t.")),
                     "pickle stack too deep at byte " + std::to_string(6 + 2 * (1 << 20) - 2) +
                         " of archive/data.pkl: '<path>': expected at most 1048576 values on the stack, got more");
}

TEST_F(TorchCheckpoint, RefusesTensorsFromGlobalsOutsideTheAllowListAndRunsNothing) {
  const std::filesystem::path marker = dir_ / "executed";
  const std::string bytes = checkpoint_with_value([&](PickleWriter& w) {
    w.global("os", "system");
    w.tuple({[&] { w.str("touch " + marker.string()); }});
    w.op('R');
    w.put();
  });
  EXPECT_EQ(format_error_of(bytes),
            "tensor built by a function that is not allowed: 'w' in '<path>': expected a tensor from "
            "torch._utils._rebuild_tensor_v2 or _rebuild_parameter, got an object built by os.system (not run); nothing "
            "from the file was run; re-save the weights with torch.save(model.state_dict(), path) from torch >= 1.6, "
            "or convert them to safetensors");
  EXPECT_FALSE(std::filesystem::exists(marker));

  // The same through NEWOBJ, through _rebuild_parameter and as a tensor subclass of _rebuild_from_type_v2.
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value([](PickleWriter& w) {
                       w.global("builtins", "eval");
                       w.op(')').op('\x81');
                     })),
                     "got an object built by builtins.eval (not run)");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value([](PickleWriter& w) {
                       w.global("torch._utils", "_rebuild_parameter");
                       w.tuple({[&] {
                                  w.global("subprocess", "call");
                                  w.tuple({[&] { w.str("ls"); }});
                                  w.op('R');
                                },
                                [&] { w.boolean(true); }, [&] { w.ordered_dict({}); }});
                       w.op('R');
                     })),
                     "got an object built by subprocess.call (not run)");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value([](PickleWriter& w) {
                       w.global("torch._tensor", "_rebuild_from_type_v2");
                       w.tuple({[&] { w.global("torch._utils", "_rebuild_tensor_v2"); },
                                [&] { w.global("mylib", "EvilTensor"); }, [&] { w.op(')'); }, [&] { w.none(); }});
                       w.op('R');
                     })),
                     "got an object built by mylib.EvilTensor (not run)");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value([](PickleWriter& w) {
                       w.global("torch._utils", "_rebuild_qtensor");
                       w.op(')').op('R');
                     })),
                     "got an object built by torch._utils._rebuild_qtensor (not run)");
}

TEST_F(TorchCheckpoint, RefusesBadTensorsWithExactMessages) {
  const auto tensor = [](TensorSpec spec) { return [spec](PickleWriter& w) { write_tensor(w, spec); }; };
  EXPECT_EQ(format_error_of(checkpoint_with_value(tensor({.numel = 6, .offset = 4, .size = {2, 3}, .stride = {3, 1}}))),
            "tensor view past the end of its storage: 'w' in '<path>': expected elements below 6 (the size of storage "
            "'0'), got storage_offset 4, size [2, 3], stride [3, 1] reaching element 9; the checkpoint is corrupt; "
            "download or save it again");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value(tensor({.numel = 6, .size = {2}, .stride = {-1}}))),
                     "invalid tensor view: 'w' in '<path>': expected sizes and strides of 0 or more, got storage_offset "
                     "0, size [2], stride [-1]");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value(tensor({.numel = 6, .offset = -1, .size = {}, .stride = {}}))),
                     "expected a storage_offset of 0 or more");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value(
                         tensor({.numel = 6, .size = {1 << 20, 1 << 20, 1 << 20}, .stride = {0, 0, 0}}))),
                     "unsupported tensor view: 'w' in '<path>': expected at most as many elements as its storage '0' "
                     "(6); expanded or overlapping views are not loaded, got 1152921504606846976 elements");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value(tensor({.numel = 6, .size = {1 << 30, 1 << 30, 1 << 30, 1 << 30},
                                                                   .stride = {1, 1, 1, 1}}))),
                     "expected an element count that fits in 64 bits");
  EXPECT_EQ(format_error_of(checkpoint_with_value(tensor({.numel = 5, .size = {5}, .stride = {1}}))),
            "storage record size mismatch for tensor: 'w' in '<path>': expected 5 elements of 4 bytes in "
            "'archive/data/0', got 24 bytes; the archive is corrupt; download or save it again");
  EXPECT_EQ(format_error_of(checkpoint_with_value(tensor({.key = "7", .numel = 6, .size = {6}, .stride = {1}}))),
            "missing storage record for tensor: 'w' in '<path>': expected a record 'archive/data/7', got none; the "
            "archive is incomplete; download or save it again");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value(tensor({.storage_type = "QInt8Storage", .numel = 24, .size = {1}, .stride = {1}}))),
                     "unsupported storage type for tensor: 'w' in '<path>': expected one libtorch");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value(tensor({.numel = 6, .size = {1}, .stride = {1}, .metadata = {{"zero", true}}}))),
                     "unsupported tensor metadata");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value([](PickleWriter& w) {
                       w.global("torch._utils", "_rebuild_tensor_v2");
                       w.tuple({[&] { w.integer(1); }, [&] { w.integer(2); }});
                       w.op('R');
                     })),
                     "invalid arguments to torch._utils._rebuild_tensor_v2 at byte");
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_value([](PickleWriter& w) {
                       w.tuple({[&] { w.str("storage"); }, [&] { w.global("os", "system"); }, [&] { w.str("0"); },
                                [&] { w.str("cpu"); }, [&] { w.integer(6); }});
                       w.op('Q');
                     })),
                     "invalid persistent id at byte");
}

TEST_F(TorchCheckpoint, RefusesStateDictsThatAreNotDictsOfTensors) {
  PickleWriter top_list;
  top_list.op(']');
  EXPECT_EQ(format_error_of(checkpoint_with_pickle(top_list.finish())),
            "unsupported torch checkpoint content: '<path>': expected a dict (a state dict, or a checkpoint holding "
            "one), got a list of 0 items; re-save the weights with torch.save(model.state_dict(), path) from torch >= "
            "1.6, or convert them to safetensors");

  std::vector<ZipRecord> torchscript = torch_records(bin("\x80\x02" "c__torch__\nNet\n)\x81."), {});
  torchscript.push_back({.name = "archive/constants.pkl", .data = bin("\x80\x02).")});
  EXPECT_MESSAGE_HAS(format_error_of(zip_file(torchscript)),
                     "got an object built by __torch__.Net (not run); this is a TorchScript archive");

  PickleWriter mixed;
  mixed.dict({{"w", [&] { write_tensor(mixed, {.numel = 6, .size = {6}, .stride = {1}}); }},
              {"epoch", [&] { mixed.integer(3); }}});
  EXPECT_EQ(format_error_of(torch_zip(mixed.finish(), {{"0", bytes_of(std::vector<float>(6))}})),
            "invalid state dict entry: 'epoch' in '<path>': expected a tensor, got the int 3; weights are read from "
            "'state_dict' or 'model' (with use_ema, 'state_dict_ema' or 'model_ema') when the checkpoint has them, "
            "else from the top level, whose keys are 'w', 'epoch'; save the state dict itself, or under one of those "
            "keys");

  PickleWriter wrong_type;
  wrong_type.dict({{"state_dict", [&] { wrong_type.int_tuple({1}); }}});
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(wrong_type.finish())),
                     "unsupported torch checkpoint entry: 'state_dict' in '<path>': expected a dict of tensors, got a "
                     "tuple of 1 item");

  PickleWriter twice;
  twice.ordered_dict({{"module.w", [&] { write_tensor(twice, {.numel = 6, .size = {6}, .stride = {1}}); }},
                      {"w", [&] { write_tensor(twice, {.numel = 6, .size = {6}, .stride = {1}}); }}});
  EXPECT_EQ(format_error_of(torch_zip(twice.finish(), {{"0", bytes_of(std::vector<float>(6))}})),
            "duplicate state dict key: 'w' in '<path>': expected each key once after stripping 'module.' and "
            "'_orig_mod.', got 'module.w' and 'w'; remove one of them from the checkpoint and save it again");

  PickleWriter int_key;
  int_key.op('}');
  int_key.integer(1);
  int_key.none();
  int_key.op('s');
  EXPECT_MESSAGE_HAS(format_error_of(checkpoint_with_pickle(int_key.finish())),
                     "invalid state dict key: '<path>': expected string keys, got the int 1");
}

TEST_F(TorchCheckpoint, MissingFilesDirectoriesAndBadTargetsAreNotFormatErrors) {
  EXPECT_THROW(load_torch_checkpoint(dir_ / "missing.pth"), IoError);
  EXPECT_THROW(load_torch_checkpoint(dir_), IoError);
  try {
    load_torch_checkpoint(write(small_checkpoint()), torch::kLong);
    ADD_FAILURE() << "accepted an integer floating_target";
  } catch (const ConfigError& error) {
    EXPECT_MESSAGE_HAS(std::string(error.what()), "expected a floating dtype (Half, BFloat16, Float, Double), got Long");
  }
}

// Every prefix of a valid checkpoint, every byte of it flipped three ways, and the same for its data.pkl re-zipped
// with a correct CRC (so that the unpickler and the tensor checks see the damage, not the CRC check), plus seeded
// random multi-byte damage to data.pkl: each either loads or throws an autotimm::Error — never a crash, a hang, a
// torch exception or a runaway allocation.
TEST_F(TorchCheckpoint, EveryTruncationAndByteFlipLoadsOrFailsCleanly) {
  PickleWriter w;
  w.ordered_dict({{"w", [&] { write_tensor(w, {.numel = 6, .size = {2, 3}, .stride = {3, 1}}); }},
                  {"t", [&] { write_tensor(w, {.numel = 6, .offset = 1, .size = {2, 2}, .stride = {1, 3}, .parameter = true}); }},
                  {"n", [&] { write_tensor(w, {.storage_type = "LongStorage", .key = "1", .numel = 1, .size = {}, .stride = {}}); }}},
                 /*metadata=*/true);
  const std::string pickle = w.finish();
  const std::map<std::string, std::string> storages = {{"0", bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5})},
                                                       {"1", bytes_of(std::vector<std::int64_t>{7})}};
  const std::string good = torch_zip(pickle, storages);
  ASSERT_EQ(load_torch_checkpoint(write(good)).size(), 3u);
  std::size_t loaded = 0, refused = 0;
  const auto attempt = [&](const std::string& bytes, const std::string& what) {
    const std::filesystem::path path = write(bytes, "mutant.pth");
    try {
      load_torch_checkpoint(path, torch::kFloat32);
      ++loaded;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& error) {
      ADD_FAILURE() << what << ": " << error.what();
    }
  };
  const auto flip = [](std::string bytes, std::size_t at, unsigned char mask) {
    bytes[at] = static_cast<char>(static_cast<unsigned char>(bytes[at]) ^ mask);
    return bytes;
  };
  for (std::size_t size = 0; size < good.size(); size += 7) attempt(good.substr(0, size), "prefix " + std::to_string(size));
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const unsigned char mask : {0x01, 0x80, 0xff}) attempt(flip(good, i, mask), "file byte " + std::to_string(i));
  }
  for (std::size_t i = 0; i < pickle.size(); ++i) {
    for (const unsigned char mask : {0x01, 0x02, 0x10, 0x80, 0xff}) {
      attempt(torch_zip(flip(pickle, i, mask), storages), "data.pkl byte " + std::to_string(i));
    }
    attempt(torch_zip(pickle.substr(0, i), storages), "data.pkl prefix " + std::to_string(i));
  }
  std::mt19937 random(20240601);
  for (int round = 0; round < 3000; ++round) {
    std::string mutant = pickle;
    const int changes = 1 + static_cast<int>(random() % 4);
    for (int c = 0; c < changes; ++c) mutant[random() % mutant.size()] = static_cast<char>(random() & 0xff);
    attempt(torch_zip(mutant, storages), "random round " + std::to_string(round));
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(loaded, 0u);  // flips in padding, names of unused records, …
}

// ---------------------------------------------------------------------------------------------------------------
// The committed corpus of malformed checkpoints.

const std::filesystem::path kCorpus = AUTOTIMM_SOURCE_DIR "/tests/data/torch_checkpoint_malformed";

struct CorpusCase {
  std::string file;
  std::string what;
  std::string fragment;
  std::function<std::string()> bytes;
};

std::vector<CorpusCase> corpus_cases() {
  const auto with_record = [](std::function<void(std::vector<ZipRecord>&)> edit) {
    return [edit] {
      std::vector<ZipRecord> records = torch_records(
          state_dict_pickle({{"w", {.numel = 6, .size = {2, 3}, .stride = {3, 1}}}}),
          {{"0", bytes_of(std::vector<float>{0, 1, 2, 3, 4, 5})}});
      edit(records);
      return zip_file(records);
    };
  };
  const auto pickle = [](std::string bytes) { return [bytes] { return checkpoint_with_pickle(bytes); }; };
  const auto tensor = [](TensorSpec spec) {
    return [spec] { return checkpoint_with_value([&](PickleWriter& w) { write_tensor(w, spec); }); };
  };
  return {
      {"empty.pth", "0 bytes", "empty torch checkpoint", [] { return std::string(); }},
      {"legacy_format.pth", "a torch < 1.6 file: pickled magic number first", "the legacy format of torch < 1.6",
       [] { return bin("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03."); }},
      {"git_lfs_pointer.bin", "a Git LFS pointer instead of the weights", "a Git LFS pointer file",
       [] { return std::string("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 12\n"); }},
      {"truncated_half.pth", "a valid checkpoint cut in half", "zip end-of-central-directory record not found",
       [] { const std::string good = small_checkpoint(); return good.substr(0, good.size() / 2); }},
      {"compressed_entry.pth", "data.pkl marked deflate-compressed", "compressed zip entry",
       with_record([](auto& r) { r[0].method = 8; })},
      {"encrypted_entry.pth", "an entry with the encryption flag", "encrypted zip entry",
       with_record([](auto& r) { r[1].flags = 1; })},
      {"missing_data_pkl.pth", "no <folder>/data.pkl record", "missing data.pkl in torch checkpoint",
       with_record([](auto& r) { r.erase(r.begin()); })},
      {"directory_out_of_bounds.pth", "the end record points the central directory past the file",
       "zip central directory out of bounds",
       [] { return torch_zip(state_dict_pickle({}), {}, {.directory_offset = 0x7fffffff}); }},
      {"local_header_out_of_range.pth", "a central entry points at a local header past the directory",
       "invalid zip local header", with_record([](auto& r) { r[2].local_offset = 0x7ffffff0; })},
      {"local_name_mismatch.pth", "local and central names differ", "expected the same name as the central directory",
       with_record([](auto& r) { r[2].local_name = "archive/data/9"; })},
      {"entry_past_directory.pth", "a record size running into the central directory", "zip entry data out of bounds",
       with_record([](auto& r) { r[2].size = 4096; })},
      {"crc_mismatch.pth", "a storage record whose CRC-32 does not match", "CRC-32 mismatch",
       with_record([](auto& r) { r[2].crc = 0x12345678; })},
      {"duplicate_entry.pth", "the same entry name twice", "duplicate zip entry",
       with_record([](auto& r) { r.push_back(r[1]); })},
      {"zip64_locator_missing.pth", "saturated end record without a ZIP64 locator", "zip64 locator missing",
       [] { return torch_zip(state_dict_pickle({}), {}, {.zip64 = true, .drop_zip64_locator = true}); }},
      {"big_endian.pth", "byteorder record says big", "unsupported byte order",
       with_record([](auto& r) { r[1].data = "big"; })},
      {"pickle_stack_underflow.pth", "REDUCE on an empty stack", "pickle stack underflow",
       pickle(bin("\x80\x02R."))},
      {"pickle_truncated.pth", "no STOP opcode", "truncated pickle", pickle(bin("\x80\x02}q\x00"))},
      {"pickle_unknown_opcode.pth", "the protocol-0 DICT opcode", "unsupported pickle opcode",
       pickle(bin("\x80\x02(d."))},
      {"pickle_memo_miss.pth", "BINGET of an index never stored", "pickle memo miss",
       pickle(bin("\x80\x02h\x05."))},
      {"pickle_nesting_too_deep.pth", "1001 open MARKs", "pickle nesting too deep",
       pickle("\x80\x02" + std::string(1001, '('))},
      {"pickle_protocol_6.pth", "PROTO 6", "unsupported pickle protocol", pickle(bin("\x80\x06}."))},
      {"pickle_extra_values.pth", "two values left at STOP", "invalid pickle end", pickle(bin("\x80\x02}}."))},
      {"top_level_list.pth", "data.pkl holds a list", "unsupported torch checkpoint content",
       pickle(bin("\x80\x02]."))},
      {"os_system_as_tensor.pth", "a state dict value built by os.system('touch …')",
       "tensor built by a function that is not allowed",
       [] {
         return checkpoint_with_value([](PickleWriter& w) {
           w.global("os", "system");
           w.tuple({[&] { w.str("touch /tmp/autotimm_must_not_exist"); }});
           w.op('R');
         });
       }},
      {"bad_persistent_id.pth", "a persistent id naming os.system as the storage type", "invalid persistent id",
       [] {
         return checkpoint_with_value([](PickleWriter& w) {
           w.tuple({[&] { w.str("storage"); }, [&] { w.global("os", "system"); }, [&] { w.str("0"); },
                    [&] { w.str("cpu"); }, [&] { w.integer(6); }});
           w.op('Q');
         });
       }},
      {"rebuild_wrong_arity.pth", "_rebuild_tensor_v2 with two arguments",
       "invalid arguments to torch._utils._rebuild_tensor_v2",
       [] {
         return checkpoint_with_value([](PickleWriter& w) {
           w.global("torch._utils", "_rebuild_tensor_v2");
           w.tuple({[&] { w.integer(1); }, [&] { w.integer(2); }});
           w.op('R');
         });
       }},
      {"view_past_storage.pth", "offset 4 + a 2×3 view over 6 elements", "tensor view past the end of its storage",
       tensor({.numel = 6, .offset = 4, .size = {2, 3}, .stride = {3, 1}})},
      {"negative_stride.pth", "stride -1", "invalid tensor view", tensor({.numel = 6, .size = {2}, .stride = {-1}})},
      {"expanded_view.pth", "a stride-0 view of 2^60 elements over 6", "unsupported tensor view",
       tensor({.numel = 6, .size = {1 << 20, 1 << 20, 1 << 20}, .stride = {0, 0, 0}})},
      {"storage_size_mismatch.pth", "numel 5 for a 24-byte float record", "storage record size mismatch",
       tensor({.numel = 5, .size = {5}, .stride = {1}})},
      {"missing_storage_record.pth", "storage key 7 without a data/7 record", "missing storage record",
       tensor({.key = "7", .numel = 6, .size = {6}, .stride = {1}})},
      {"unsupported_storage_type.pth", "torch.QInt8Storage", "unsupported storage type",
       tensor({.storage_type = "QInt8Storage", .numel = 24, .size = {1}, .stride = {1}})},
      {"non_tensor_entry.pth", "an int beside the tensors at the top level", "invalid state dict entry",
       [] {
         PickleWriter w;
         w.dict({{"w", [&] { write_tensor(w, {.numel = 6, .size = {6}, .stride = {1}}); }},
                 {"epoch", [&] { w.integer(3); }}});
         return torch_zip(w.finish(), {{"0", bytes_of(std::vector<float>(6))}});
       }},
  };
}

// Rewrites the corpus from corpus_cases(): run once by hand after changing them, then commit the folder.
//   build/bin/io_torch_checkpoint_test --gtest_also_run_disabled_tests --gtest_filter='*WriteMalformedCorpus*'
TEST(TorchCheckpointCorpus, DISABLED_WriteMalformedCorpus) {
  std::filesystem::create_directories(kCorpus);
  std::ofstream readme(kCorpus / "README.md", std::ios::trunc);
  readme << "# Malformed PyTorch checkpoint corpus\n\n"
            "Small files that `load_torch_checkpoint` must refuse. `tests/io/torch_checkpoint_test.cpp` loads each one "
            "and checks\nthat it throws `autotimm::FormatError` whose message contains the fragment in the last column "
            "and the file's path\n(it reads this table, so a file without a row, or a row without a file, fails the "
            "test).\n\nThe files were written by the test's own zip and pickle writers (`corpus_cases()` in that file): "
            "to add a case, add it\nthere and run\n`build/bin/io_torch_checkpoint_test --gtest_also_run_disabled_tests "
            "--gtest_filter='*WriteMalformedCorpus*'`,\nwhich rewrites this folder and this README.\n\n"
            "| file | what is wrong | message fragment |\n|---|---|---|\n";
  for (const CorpusCase& c : corpus_cases()) {
    testing::write_file(kCorpus / c.file, c.bytes());
    readme << "| `" << c.file << "` | " << c.what << " | `" << c.fragment << "` |\n";
  }
}

TEST(TorchCheckpointCorpus, EveryMalformedFileIsRefusedForTheReasonItsReadmeGives) {
  testing::replay_malformed_corpus(kCorpus, 30, [](const std::filesystem::path& file) { load_torch_checkpoint(file); });
  EXPECT_FALSE(std::filesystem::exists("/tmp/autotimm_must_not_exist"));
}

// The committed files are what corpus_cases() writes today (so the table above stays the source of truth).
TEST(TorchCheckpointCorpus, CommittedFilesMatchTheirGenerator) {
  for (const CorpusCase& c : corpus_cases()) {
    SCOPED_TRACE(c.file);
    EXPECT_TRUE(testing::read_file(kCorpus / c.file) == c.bytes())
        << "the committed file differs from what corpus_cases() writes; rerun DISABLED_WriteMalformedCorpus";
  }
}

}  // namespace
}  // namespace autotimm
