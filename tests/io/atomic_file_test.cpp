// AtomicFileWriter: a failure at any step leaves the previous file as it was and no temporary behind.
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "autotimm/error.hpp"
#include "autotimm/io/atomic_file.hpp"
#include "autotimm/io/safetensors.hpp"
#include "io_test_support.hpp"

namespace autotimm {
namespace {

class AtomicFile : public testing::ScratchDirTest {};

// Caps the size of files this process writes, so a write fails part way as on a full disk (EFBIG; SIGXFSZ is
// ignored meanwhile). Restores both on destruction.
class FileSizeCap {
 public:
  explicit FileSizeCap(rlim_t bytes) : previous_handler_(std::signal(SIGXFSZ, SIG_IGN)) {
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &previous_), 0);
    rlimit capped = previous_;
    capped.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &capped), 0);
  }
  ~FileSizeCap() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeCap(const FileSizeCap&) = delete;
  FileSizeCap& operator=(const FileSizeCap&) = delete;

 private:
  void (*previous_handler_)(int);
  rlimit previous_{};
};

TEST_F(AtomicFile, CommitReplacesTheTargetAndLeavesOnlyIt) {
  const std::filesystem::path target = dir_ / "last.ckpt";
  testing::write_file(target, "old");
  AtomicFileWriter writer(target);
  writer.write(std::string_view("new "));
  writer.write(testing::as_bytes("contents"));
  EXPECT_EQ(testing::read_file(target), "old") << "the target must not change before commit";
  writer.commit();
  EXPECT_EQ(testing::read_file(target), "new contents");
  EXPECT_EQ(entries(), std::vector<std::string>{"last.ckpt"});
}

TEST_F(AtomicFile, TheTemporarySitsBesideTheTargetWithPidInItsName) {
  const std::filesystem::path target = dir_ / "model.safetensors";
  AtomicFileWriter writer(target);
  const std::string prefix = "model.safetensors.tmp." + std::to_string(::getpid()) + ".";
  EXPECT_EQ(writer.temporary_path().parent_path(), dir_);
  EXPECT_EQ(writer.temporary_path().filename().string().rfind(prefix, 0), 0u) << writer.temporary_path();
  EXPECT_TRUE(std::filesystem::exists(writer.temporary_path()));
  EXPECT_EQ(writer.target_path(), target);
}

TEST_F(AtomicFile, DestructionWithoutCommitKeepsTheOldFileAndRemovesTheTemporary) {
  const std::filesystem::path target = dir_ / "last.ckpt";
  testing::write_file(target, "old");
  {
    AtomicFileWriter writer(target);
    writer.write(std::string_view("half of a new fi"));
    EXPECT_EQ(entries().size(), 2u);
  }
  EXPECT_EQ(testing::read_file(target), "old");
  EXPECT_EQ(entries(), std::vector<std::string>{"last.ckpt"});
}

TEST_F(AtomicFile, WriteFailureMidwayKeepsTheOldFileAndRemovesTheTemporary) {
  const std::filesystem::path target = dir_ / "model.safetensors";
  testing::write_file(target, "previous good file");
  const std::vector<std::byte> big(1 << 20, std::byte{7});
  const std::vector<TensorBytes> tensors = {{"w", Dtype::u8, {1 << 20}, big}};
  std::string message;
  {
    const FileSizeCap cap(64 * 1024);
    try {
      write_safetensors(target, tensors);
    } catch (const IoError& error) {
      message = error.what();
    }
  }
  EXPECT_NE(message.find("is unchanged"), std::string::npos) << "message: " << message;
  EXPECT_EQ(testing::read_file(target), "previous good file");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(AtomicFile, AWriterWhoseWriteFailedCannotCommitThePartialFile) {
  const std::filesystem::path target = dir_ / "out.bin";
  testing::write_file(target, "old");
  AtomicFileWriter writer(target);
  {
    const FileSizeCap cap(4096);
    EXPECT_THROW(writer.write(std::string(8192, 'x')), IoError);
  }
  EXPECT_THROW(writer.commit(), IoError);
  EXPECT_THROW(writer.write(std::string_view("more")), IoError);
  EXPECT_EQ(testing::read_file(target), "old");
  EXPECT_EQ(entries(), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFile, ACommittedWriterRefusesFurtherUse) {
  const std::filesystem::path target = dir_ / "out.bin";
  AtomicFileWriter writer(target);
  writer.write(std::string_view("done"));
  writer.commit();
  EXPECT_THROW(writer.commit(), IoError);
  EXPECT_THROW(writer.write(std::string_view("x")), IoError);
  EXPECT_EQ(testing::read_file(target), "done");
}

TEST_F(AtomicFile, AMovedWriterCommitsWhatWasWrittenBeforeTheMove) {
  const std::filesystem::path target = dir_ / "out.bin";
  AtomicFileWriter first(target);
  first.write(std::string_view("before "));
  AtomicFileWriter second = std::move(first);
  second.write(std::string_view("after"));
  second.commit();
  EXPECT_EQ(testing::read_file(target), "before after");
  EXPECT_EQ(entries(), std::vector<std::string>{"out.bin"});
}

TEST_F(AtomicFile, RenameFailureKeepsTheTargetAndRemovesTheTemporary) {
  const std::filesystem::path target = dir_ / "slot";
  AtomicFileWriter writer(target);
  writer.write(std::string_view("data"));
  // Something else takes the name meanwhile: a non-empty directory cannot be replaced by a file.
  std::filesystem::create_directories(target / "inside");
  try {
    writer.commit();
    ADD_FAILURE() << "commit over a non-empty directory succeeded";
  } catch (const IoError& error) {
    EXPECT_NE(std::string(error.what()).find("rename of"), std::string::npos) << error.what();
  }
  EXPECT_TRUE(std::filesystem::is_directory(target / "inside"));
  EXPECT_EQ(entries(), std::vector<std::string>{"slot"});
}

TEST_F(AtomicFile, ATargetThatIsADirectoryIsRefusedUpFront) {
  try {
    AtomicFileWriter writer(dir_);
    ADD_FAILURE() << "accepted a directory as target";
  } catch (const IoError& error) {
    EXPECT_NE(std::string(error.what()).find("expected a file path, got a directory"), std::string::npos)
        << error.what();
  }
}

TEST_F(AtomicFile, AMissingDirectoryIsAnIoErrorNamingIt) {
  const std::filesystem::path target = dir_ / "no" / "such" / "dir" / "file.bin";
  try {
    write_file_atomically(target, "x");
    ADD_FAILURE() << "wrote into a missing directory";
  } catch (const IoError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'" + (dir_ / "no" / "such" / "dir").string() + "'"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no"));
}

TEST_F(AtomicFile, AReplacedFileKeepsItsPermissions) {
  const std::filesystem::path target = dir_ / "secret.ckpt";
  testing::write_file(target, "old");
  std::filesystem::permissions(target, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  write_file_atomically(target, "new");
  EXPECT_EQ(testing::read_file(target), "new");
  EXPECT_EQ(std::filesystem::status(target).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(AtomicFile, WriteFileAtomicallyCreatesANewFileFromARelativePath) {
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  write_file_atomically("fresh.txt", "hello");
  std::filesystem::current_path(previous);
  EXPECT_EQ(testing::read_file(dir_ / "fresh.txt"), "hello");
  EXPECT_EQ(entries(), std::vector<std::string>{"fresh.txt"});
}

}  // namespace
}  // namespace autotimm
